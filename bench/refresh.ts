// The daily refresh (issue 10) on the full-size sample in the current Kaggle layout: the file as it was
// yesterday (every day but the last) has gone through the whole pipeline; today's file has one more day
// (1,440 minutes) appended. Timed as the user types it, whole process, side by side in one run:
//   append:  pipeline run ingest aggregate            (reads only the new rows, recomputes the last days)
//   full:    pipeline run ingest aggregate --force    (the same two stages from scratch on the same file)
//   noop:    pipeline run ingest aggregate            (yesterday's file: nothing to do; the runner's own cost)
//   whole:   pipeline run                             (everything downstream too, after the append)
// Every measured run starts from the same state: yesterday's project restored (hard links, then a no-op
// run so that the stat cache vouches for its files, as it would on the user's machine after yesterday's
// run), then today's file put in place as a new file, as a download does.
// Goal (issue 10): append at most 0.1x the full run's wall time.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { sample } from '../stages/sample.ts';
import { runStage } from '../test/data-helpers.ts';
import { pipelineOnPath } from './typed.ts';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const work = join(repo, 'bench', 'results', 'refresh');
const project = join(work, 'project');
const snapshot = join(work, 'yesterday');
const SOURCE = 'data/btcusd_1-min_data.csv';
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
/** `pipeline` as the README's set-up gives it (a symlink on PATH), run by the shell as typed. */
const typed = pipelineOnPath(repo).env;

interface Measured {
  readonly wall: number;
  readonly rss_mb?: number;
  /** Stage seconds as the run recorded them (absent when the stage was skipped). */
  readonly ingest?: number;
  readonly aggregate?: number;
  readonly stdout: string;
}

/** The full-size sample in the current layout (every day, seed 7): today's file. */
async function today(): Promise<string> {
  const root = join(work, 'sample');
  const csv = join(root, 'artifacts', 'sample', 'minutes.csv');
  if (!existsSync(csv)) {
    await mkdir(root, { recursive: true });
    console.log('making the full-size sample in the current layout (sample stage, every day, seed 7)...');
    await runStage(sample, root, { params: { layout: 'current' }, inputs: [join(repo, 'data', 'btc-usd-daily.csv')] });
  }
  return csv;
}

/** The byte length of the file without its last `lines` lines. */
function withoutLastLines(bytes: Buffer, lines: number): number {
  let at = bytes.length - 1; // the final newline
  for (let n = 0; n < lines; n++) at = bytes.lastIndexOf(0x0a, at - 1);
  return at + 1;
}

async function installSource(bytes: Uint8Array): Promise<void> {
  const target = join(project, SOURCE);
  await writeFile(`${target}.download`, bytes);
  await rename(`${target}.download`, target);
}

/**
 * Yesterday's project again, as the user's machine has it after yesterday's run: hard links to the
 * snapshot's files (nothing is ever written in place), then a no-op `pipeline run` that brings the stat
 * cache up to date (a new link moves a file's ctime, which the stat cache watches). Not timed.
 */
async function restore(): Promise<void> {
  await rm(project, { recursive: true, force: true });
  await exec('cp', ['-al', snapshot, project]);
  // Past the stat cache's "racily clean" window, so the files hashed now are remembered.
  await sleep(100);
  const warm = await pipeline(['run']);
  if (!/skipped/.test(warm.stdout) || /✓ \w+ {2}[\d.]+ s/.test(warm.stdout)) throw new Error(`bench refresh: yesterday's project is not up to date:\n${warm.stdout}`);
}

async function pipeline(args: string[]): Promise<Measured> {
  const line = `pipeline ${args.join(' ')}`;
  const command = TIME ? [TIME, '-v', 'sh', '-c', line] : ['sh', '-c', line];
  const started = performance.now();
  const { stdout, stderr } = await exec(command[0]!, command.slice(1), { cwd: project, env: typed, maxBuffer: 1 << 24 });
  const wall = (performance.now() - started) / 1000;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  // Each stage's own seconds, as the run recorded them (machine-local, beside the run cache).
  const timings = JSON.parse(await readFile(join(project, 'artifacts', '.cache', 'timings.json'), 'utf8')) as { stages: Record<string, { seconds: number }> };
  const ran = (stage: string) => (new RegExp(`✓ ${stage}  [\\d.]+ s`).test(stdout) ? timings.stages[stage]?.seconds : undefined);
  return { wall, rss_mb: rss ? Number(rss[1]) / 1024 : undefined, ingest: ran('ingest'), aggregate: ran('aggregate'), stdout };
}

async function outputs(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const minutes = join(project, 'artifacts', 'ingest', 'minutes.arrow');
  for (const part of (await readdir(minutes)).sort()) files.set(`minutes.arrow/${part}`, await readFile(join(minutes, part)));
  files.set('daily.arrow', await readFile(join(project, 'artifacts', 'aggregate', 'daily.arrow')));
  return files;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function bench(): Promise<void> {
  const csv = await today();
  const todayBytes = await readFile(csv);
  const yesterdayBytes = todayBytes.subarray(0, withoutLastLines(todayBytes, 1440));
  console.log(`today's file: ${(todayBytes.length / 1e6).toFixed(0)} MB; yesterday's: the same without its last 1,440 minutes`);

  if (!existsSync(join(snapshot, 'pipeline.lock'))) {
    console.log('yesterday: the whole pipeline on yesterday\'s file...');
    await rm(project, { recursive: true, force: true });
    await mkdir(join(project, 'data'), { recursive: true });
    await writeFile(join(project, 'pipeline.yaml'), `stages:\n  ingest: { source: ${SOURCE} }\n`);
    await installSource(yesterdayBytes);
    await pipeline(['run']);
    await rm(snapshot, { recursive: true, force: true });
    // Hard links: the snapshot keeps the inodes the stat cache recorded (nothing is ever written in place).
    await exec('cp', ['-al', project, snapshot]);
  } else {
    // Yesterday's project as an earlier version of the code left it: brought up to date by this code
    // once (as the user's own next run would), and kept as yesterday.
    await rm(project, { recursive: true, force: true });
    await exec('cp', ['-al', snapshot, project]);
    await sleep(100);
    const update = await pipeline(['run']);
    if (/✓ \w+ {2}([\d.]+ s|restored from run cache)/.test(update.stdout)) {
      console.log('yesterday: brought up to date with this code...');
      await rm(snapshot, { recursive: true, force: true });
      await exec('cp', ['-al', project, snapshot]);
    }
  }

  const runs = Number(process.env.BENCH_RUNS ?? 3);
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (${availableParallelism()} cores); ${runs} rounds`);
  const all: Record<'append' | 'full' | 'noop' | 'whole', Measured[]> = { append: [], full: [], noop: [], whole: [] };
  let same = true;
  for (let round = 0; round < runs; round++) {
    await restore();
    all.noop.push(await pipeline(['run', 'ingest', 'aggregate']));

    await restore();
    await installSource(todayBytes);
    const append = await pipeline(['run', 'ingest', 'aggregate']);
    if (!/ingest: appended 1440 minutes to \d+ \(append\)/.test(append.stdout)) throw new Error(`bench refresh: the append run did not append:\n${append.stdout}`);
    all.append.push(append);
    const appended = await outputs();

    await restore();
    await installSource(todayBytes);
    all.full.push(await pipeline(['run', 'ingest', 'aggregate', '--force']));
    const full = await outputs();
    same &&= appended.size === full.size && [...full].every(([file, bytes]) => appended.get(file)?.equals(bytes));

    await restore();
    await installSource(todayBytes);
    all.whole.push(await pipeline(['run']));
    console.log(`  round ${round + 1}: append ${append.wall.toFixed(2)} s, full ${all.full.at(-1)!.wall.toFixed(2)} s, noop ${all.noop.at(-1)!.wall.toFixed(2)} s, whole pipeline ${all.whole.at(-1)!.wall.toFixed(2)} s`);
  }
  if (!same) throw new Error('bench refresh: the append run and the full run wrote different minutes or daily.arrow');

  const m = (kind: keyof typeof all, key: 'wall' | 'rss_mb' | 'ingest' | 'aggregate') => {
    const values = all[kind].map((r) => r[key]).filter((v): v is number => v !== undefined);
    return values.length > 0 ? median(values) : undefined;
  };
  const f = (value: number | undefined, unit: string) => (value === undefined ? '-' : `${value.toFixed(2)} ${unit}`);
  const row = (name: string, kind: keyof typeof all) =>
    `| ${name.padEnd(56)} | ${f(m(kind, 'wall'), 's').padStart(8)} | ${f(m(kind, 'ingest'), 's').padStart(8)} | ${f(m(kind, 'aggregate'), 's').padStart(9)} | ${f(m(kind, 'rss_mb'), 'MB').padStart(9)} |`;
  console.log('');
  console.log(`| one day appended (1,440 minutes), median of ${runs}`.padEnd(59) + '| process  | ingest   | aggregate | peak RSS  |');
  console.log('|----------------------------------------------------------|----------|----------|-----------|-----------|');
  console.log(row('`pipeline run ingest aggregate` (append)', 'append'));
  console.log(row('`pipeline run ingest aggregate --force` (full)', 'full'));
  console.log(row('`pipeline run ingest aggregate`, nothing changed', 'noop'));
  console.log(row('`pipeline run` after the append (whole pipeline)', 'whole'));
  const ratio = m('append', 'wall')! / m('full', 'wall')!;
  const stages = (kind: 'append' | 'full') => m(kind, 'ingest')! + m(kind, 'aggregate')!;
  console.log('');
  console.log(`append / full, whole process: ${ratio.toFixed(3)} (goal <= 0.1: ${ratio <= 0.1 ? 'met' : 'NOT met'})`);
  console.log(`append / full, the two stages' own time: ${(stages('append') / stages('full')).toFixed(3)}`);
  console.log('the append run wrote the same minutes files and daily.arrow as the full run, byte for byte');
  await writeFile(
    join(repo, 'bench', 'results', 'refresh.json'),
    `${JSON.stringify({ when: new Date().toISOString(), load: loadavg(), today_mb: todayBytes.length / 1e6, ratio, runs: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.map(({ stdout: _, ...rest }) => rest)])) }, null, 2)}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
