// CSV -> daily series on the full-size sample (~3.9M minute rows), in both Kaggle layouts, each figure
// next to its peers in the same run, all as whole processes:
//   ours:    `pipeline run ingest aggregate --force`, as typed (the `pipeline` command the README's
//            set-up gives; bench/typed.ts). The same data as the last run, so each monthly part that
//            comes out byte for byte the same is linked, not written again (the runner's writeFile).
//   ours, every part written: the same after `rm -rf artifacts/ingest artifacts/aggregate` (a first
//            ingest of a file: 250 MB of Arrow written and hashed).
//   DuckDB:  its own scan of the same CSV in a Node process, every column parsed with the layout's
//            explicit schema and summed, default threads (bench/data/duckdb-scan.mjs).
//   pandas:  the notebook's code (read_csv, to_datetime, groupby().mean(); bench/data/pandas_daily.py),
//            legacy layout only (the current layout has no Weighted_Price to average).
// Goals: issue 14, ours at most 1.5x DuckDB's scan and peak RSS at most 400 MB in both layouts; issue 3,
// ours against pandas.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import { pipelineOnPath } from './typed.ts';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TIME = '/usr/bin/time';
const LAYOUTS = ['legacy', 'current'] as const;
type Layout = (typeof LAYOUTS)[number];

interface Measured {
  /** Wall seconds of the whole process. */
  readonly seconds: number;
  /** User + system CPU seconds of the whole process (all threads). */
  readonly cpu: number;
  readonly rss_mb: number;
  readonly stdout: string;
}

/** A shell command under /usr/bin/time, whole process. */
async function measure(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  const started = performance.now();
  const { stdout, stderr } = await exec(TIME, ['-f', 'TIME %U %S %M', 'sh', '-c', command], { cwd, env, maxBuffer: 1 << 24 });
  const seconds = (performance.now() - started) / 1000;
  const [user, system, rss] = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr)!.slice(1).map(Number);
  return { seconds, cpu: user! + system!, rss_mb: rss! / 1024, stdout };
}

/** The project of one layout: the embedded sample in that layout, ingested once. */
async function project(layout: Layout, env: NodeJS.ProcessEnv): Promise<string> {
  const root = join(repo, 'bench', 'results', `data-${layout}`);
  await mkdir(join(root, 'data'), { recursive: true });
  await writeFile(join(root, 'pipeline.yaml'), `stages:\n  sample: { layout: ${layout} }\n`);
  // The daily prices the sample is made from (an input of the sample stage).
  await writeFile(join(root, 'data', 'btc-usd-daily.csv'), await readFile(join(repo, 'data', 'btc-usd-daily.csv')));
  if (!existsSync(join(root, 'artifacts', 'aggregate', 'daily.arrow'))) {
    console.log(`making the full-size sample in the ${layout} layout and ingesting it once...`);
  }
  await measure('pipeline run ingest aggregate', root, env);
  return root;
}

/** Largest relative difference between our daily price and pandas' (same dates expected). */
async function compare(root: string, pandasCsv: string): Promise<{ days: number; maxRelative: number }> {
  const table = tableFromIPC(await readFile(join(root, 'artifacts', 'aggregate', 'daily.arrow')));
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

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Row {
  readonly name: string;
  readonly runs: Measured[];
}

export async function bench(): Promise<void> {
  const { env } = pipelineOnPath(repo);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const results: Record<string, unknown> = {};
  for (const layout of LAYOUTS) {
    const root = await project(layout, env);
    const csv = join(root, 'artifacts', 'sample', 'minutes.csv');
    const bytes = (await readFile(csv)).byteLength;
    console.log(`\n### ${layout} layout: ${(bytes / 1e6).toFixed(0)} MB CSV`);
    console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (${availableParallelism()} cores); ${runs} rounds, alternating`);
    const rows: Row[] = [
      { name: '`pipeline run ingest aggregate --force`', runs: [] },
      { name: 'the same, every part written (artifacts removed first)', runs: [] },
      { name: 'DuckDB scan (all columns, explicit schema, summed)', runs: [] },
    ];
    if (layout === 'legacy') rows.push({ name: 'pandas (the notebook\'s code)', runs: [] });
    const pandasOut = join(root, 'pandas-daily.csv');
    for (let i = 0; i < runs; i++) {
      const forced = await measure('pipeline run ingest aggregate --force', root, env);
      if (!/✓ ingest {2}[\d.]+ s\n[\s\S]*✓ aggregate {2}[\d.]+ s/.test(forced.stdout)) throw new Error(`bench data: not a forced run:\n${forced.stdout}`);
      rows[0]!.runs.push(forced);
      await rm(join(root, 'artifacts', 'ingest'), { recursive: true, force: true });
      await rm(join(root, 'artifacts', 'aggregate'), { recursive: true, force: true });
      rows[1]!.runs.push(await measure('pipeline run ingest aggregate --force', root, env));
      rows[2]!.runs.push(await measure(`node ${join(repo, 'bench', 'data', 'duckdb-scan.mjs')} ${csv} ${layout}`, repo, env));
      if (layout === 'legacy') rows[3]!.runs.push(await measure(`${PYTHON} ${join(repo, 'bench', 'data', 'pandas_daily.py')} ${csv} ${pandasOut}`, repo, env));
    }
    const parts = (await readdir(join(root, 'artifacts', 'ingest', 'minutes.arrow'))).length;
    const f = (values: number[], unit: string, digits = 2) => `${median(values).toFixed(digits)} ${unit}`;
    console.log('');
    console.log(`| ${layout} layout, whole process, median of ${runs} | wall | CPU | peak RSS |`);
    console.log('|---|---|---|---|');
    for (const row of rows) {
      console.log(`| ${row.name} | ${f(row.runs.map((r) => r.seconds), 's')} | ${f(row.runs.map((r) => r.cpu), 's')} | ${f(row.runs.map((r) => r.rss_mb), 'MB', 0)} |`);
    }
    const ours = median(rows[0]!.runs.map((r) => r.seconds));
    const written = median(rows[1]!.runs.map((r) => r.seconds));
    const duck = median(rows[2]!.runs.map((r) => r.seconds));
    const rss = Math.max(...rows[0]!.runs.map((r) => r.rss_mb), ...rows[1]!.runs.map((r) => r.rss_mb));
    console.log('');
    console.log(`ours / DuckDB scan: ${(ours / duck).toFixed(2)}x (goal <= 1.5x: ${ours / duck <= 1.5 ? 'met' : 'NOT met'}); every part written: ${(written / duck).toFixed(2)}x`);
    console.log(`peak RSS at most ${rss.toFixed(0)} MB (goal <= 400 MB: ${rss <= 400 ? 'met' : 'NOT met'}); ${parts} monthly parts`);
    const layoutResult: Record<string, unknown> = { csv_mb: bytes / 1e6, ratio: ours / duck, written_ratio: written / duck, rows };
    if (layout === 'legacy') {
      const pandas = median(rows[3]!.runs.map((r) => r.seconds));
      const check = await compare(root, pandasOut);
      console.log(`pandas / ours: ${(pandas / ours).toFixed(2)}x faster (every part written: ${(pandas / written).toFixed(2)}x); same daily price as pandas on all ${check.days} days: max relative difference ${check.maxRelative.toExponential(1)}`);
      layoutResult.pandas_speedup = pandas / ours;
      layoutResult.check = check;
    }
    results[layout] = layoutResult;
  }
  await writeFile(
    join(repo, 'bench', 'results', 'data.json'),
    `${JSON.stringify({ when: new Date().toISOString(), load: loadavg(), results }, (k, v) => (k === 'stdout' ? undefined : v), 2)}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
