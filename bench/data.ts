// CSV -> daily series on the full-size sample (~3.9M minute rows): our ingest + aggregate stages (DuckDB
// read_csv streamed into Arrow, then typed-array grouping; artifacts written) against the notebook's pandas
// code (bench/data/pandas_daily.py, Debian's python3-pandas) on the same file, in one run.
// Goal (issue 3): at least 10x faster than pandas, peak RSS at most 400 MB.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import { sample } from '../stages/sample.ts';
import { runStage } from '../test/data-helpers.ts';

const exec = promisify(execFile);
const project = fileURLToPath(new URL('..', import.meta.url));
/** Scratch project for the 300 MB sample and the artifacts (bench/results/ is gitignored). */
const work = join(project, 'bench', 'results', 'data');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Measured {
  /** Ours only: the two stages' own wall seconds. */
  ingest_seconds?: number;
  aggregate_seconds?: number;
  /** Wall seconds of the work itself (read to daily series written), from inside the process. */
  seconds: number;
  /** CPU seconds (all threads) over the same span: less sensitive than wall time to a busy machine. */
  cpu_seconds: number;
  /** CPU seconds of the whole process (start-up and imports included), from /usr/bin/time. */
  process_cpu_seconds?: number;
  /** Peak resident set of the whole process (interpreter, libraries and all). */
  peak_rss_mb: number;
  /** Wall seconds of the whole process, start-up and imports included. */
  process_seconds: number;
}

/** Runs a command under /usr/bin/time -v (when present) and merges its figures with the JSON it prints. */
async function measure(command: string, args: string[]): Promise<Measured> {
  const started = performance.now();
  const { stdout, stderr } = TIME
    ? await exec(TIME, ['-v', command, ...args], { cwd: project, maxBuffer: 1 << 24 })
    : await exec(command, args, { cwd: project, maxBuffer: 1 << 24 });
  const processSeconds = (performance.now() - started) / 1000;
  const own = JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  return {
    ...own,
    peak_rss_mb: rss ? Number(rss[1]) / 1024 : own.peak_rss_mb,
    process_cpu_seconds: user && system ? Number(user[1]) + Number(system[1]) : undefined,
    process_seconds: processSeconds,
  };
}

async function ensureSample(): Promise<string> {
  const csv = join(work, 'artifacts', 'sample', 'minutes.csv');
  if (!existsSync(csv)) {
    await mkdir(work, { recursive: true });
    console.log('making the full-size sample (sample stage, every day, seed 7)...');
    const started = performance.now();
    await runStage(sample, work, { inputs: [join(project, 'data', 'btc-usd-daily.csv')] });
    console.log(`  sample: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return csv;
}

/** Largest relative difference between our daily price and pandas' (same dates expected). */
async function compare(pandasCsv: string): Promise<{ days: number; maxRelative: number }> {
  const table = tableFromIPC(await readFile(join(work, 'artifacts', 'aggregate', 'daily.arrow')));
  const ours = new Map<string, number>();
  for (const row of table.toArray()) {
    const r = row.toJSON() as { date: number; price: number };
    ours.set(new Date(r.date).toISOString().slice(0, 10), r.price);
  }
  let maxRelative = 0;
  const lines = (await readFile(pandasCsv, 'utf8')).trim().split('\n').slice(1);
  for (const line of lines) {
    const [date, price] = line.split(',');
    const mine = ours.get(date!);
    if (mine === undefined) throw new Error(`bench data: pandas has ${date}, we do not`);
    maxRelative = Math.max(maxRelative, Math.abs(mine - Number(price)) / Math.abs(Number(price)));
  }
  if (lines.length !== ours.size) throw new Error(`bench data: pandas has ${lines.length} days, we have ${ours.size}`);
  return { days: lines.length, maxRelative };
}

export async function bench(): Promise<void> {
  const csv = await ensureSample();
  const bytes = (await readFile(csv)).byteLength;
  console.log(`input: ${csv.slice(project.length)} (${(bytes / 1e6).toFixed(0)} MB)`);

  // Alternating runs, best of each: the machine may be busy with other work (its load is printed).
  const runs = Number(process.env.BENCH_RUNS ?? 2);
  const pandasOut = join(work, 'pandas-daily.csv');
  const oursRuns: Measured[] = [];
  const pandasRuns: Measured[] = [];
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (${availableParallelism()} cores); ${runs} runs each`);
  for (let i = 0; i < runs; i++) {
    oursRuns.push(await measure(process.execPath, ['--import', 'tsx', join(project, 'bench', 'data', 'run-ours.ts'), work]));
    pandasRuns.push(await measure(PYTHON, [join(project, 'bench', 'data', 'pandas_daily.py'), csv, pandasOut]));
  }
  const best = (all: Measured[]) => all.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const ours = best(oursRuns);
  const pandas = best(pandasRuns);
  console.log(`runs (work seconds): ours ${oursRuns.map((m) => m.seconds.toFixed(2)).join(', ')}; pandas ${pandasRuns.map((m) => m.seconds.toFixed(2)).join(', ')}`);
  const check = await compare(pandasOut);

  const ratio = pandas.seconds / ours.seconds;
  const cpuRatio = pandas.cpu_seconds / ours.cpu_seconds;
  const f = (value: number | undefined, width: number, unit: string) => `${value === undefined ? '-' : value.toFixed(2)} ${unit}`.padStart(width);
  const row = (name: string, m: Measured) =>
    `| ${name.padEnd(32)} | ${f(m.seconds, 8, 's')} | ${f(m.cpu_seconds, 8, 's')} | ${f(m.process_seconds, 8, 's')} | ${f(m.process_cpu_seconds, 8, 's')} | ${f(m.peak_rss_mb, 8, 'MB')} |`;
  console.log('');
  console.log('| CSV -> daily series (best run)   | work     | work cpu | process  | proc cpu | peak RSS |');
  console.log('|----------------------------------|----------|----------|----------|----------|----------|');
  console.log(row('ours: ingest + aggregate', ours));
  console.log(row('pandas (notebook code)', pandas));
  console.log('');
  console.log(`ours, per stage: ingest ${ours.ingest_seconds!.toFixed(2)} s, aggregate ${ours.aggregate_seconds!.toFixed(2)} s`);
  console.log(`speed-up (work wall time): ${ratio.toFixed(2)}x; by work CPU time: ${cpuRatio.toFixed(2)}x (goal >= 10x: ${ratio >= 10 ? 'met' : 'NOT met'})`);
  console.log(`peak RSS: ${ours.peak_rss_mb.toFixed(0)} MB vs pandas ${pandas.peak_rss_mb.toFixed(0)} MB (goal <= 400 MB: ${ours.peak_rss_mb <= 400 ? 'met' : 'NOT met'})`);
  console.log(`same daily price as pandas on all ${check.days} days: max relative difference ${check.maxRelative.toExponential(1)}`);
  await writeFile(
    join(project, 'bench', 'results', 'data.json'),
    `${JSON.stringify({ when: new Date().toISOString(), load: loadavg(), input_mb: bytes / 1e6, ours, pandas, ratio, cpuRatio, check, oursRuns, pandasRuns }, null, 2)}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
