// A small stand-in for the runner: builds a StageContext over a temp folder so a data stage's `run` can be
// called directly. Layout: <root>/artifacts/<stage>/<file> for upstream artifacts, and a separate staging
// folder per run (like the runner's) that the test inspects or moves into place itself.
import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { DateDay, Table, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { OutputWriter, PipelineParams, Progress, Stage, StageContext } from '../pipeline/contract/stage.ts';
import { KAGGLE_HEADER } from '../stages/sample.ts';

export interface StageRun {
  readonly progress: Progress[];
  readonly info: string[];
  /** What it warned about (ctx.warn). */
  readonly warnings: string[];
  /** Where this run wrote its outputs (the runner's staging folder). */
  readonly staging: string;
}

/** A plain writer of a file, as StageContext.writer gives one (without the runner's hashing). */
export async function fileWriter(path: string): Promise<OutputWriter> {
  const handle = await open(path, 'w');
  return {
    write: async (bytes) => {
      for (let at = 0; at < bytes.byteLength; ) at += (await handle.write(bytes, at, bytes.byteLength - at)).bytesWritten;
    },
    close: async () => {
      await handle.close().catch(() => undefined);
    },
  };
}

export async function tempProject(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pipeline-data-'));
}

export async function removeProject(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

export function artifact(root: string, stage: string, file: string): string {
  return join(root, 'artifacts', stage, file);
}

/**
 * Runs one stage over `root`: inputs are `paths` (absolute, in `inputs()` order) or upstream artifacts,
 * outputs go to a fresh staging folder; with `publish`, they are then moved to artifacts/<stage>/ as the
 * runner does after a success.
 */
export async function runStage<S extends Stage>(
  stage: S,
  root: string,
  options: { params?: Record<string, unknown>; pipeline?: PipelineParams; inputs?: readonly string[]; publish?: boolean } = {},
): Promise<StageRun> {
  const params = stage.params.parse(options.params ?? {}) as Record<string, unknown>;
  const pipeline: PipelineParams = { ...options.pipeline, [stage.name]: params };
  const inputs =
    options.inputs ??
    stage.inputs(pipeline).map((input) => ('path' in input ? join(root, input.path) : artifact(root, input.stage, input.file)));
  const staging = await mkdtemp(join(root, `.staging-${stage.name}-`));
  const progress: Progress[] = [];
  const info: string[] = [];
  const warnings: string[] = [];
  const ctx: StageContext<unknown> = {
    name: stage.name,
    params,
    pipeline,
    root,
    inputs,
    input: (name, file) => artifact(root, name, file),
    output: (file) => {
      // As the runner does: a folder output ("minutes.arrow/") or a file's folder exists when asked for.
      const path = join(staging, file);
      mkdirSync(file.endsWith('/') ? path : dirname(path), { recursive: true });
      return path;
    },
    writer: (file) => fileWriter(ctx.output(file)),
    writeFile: (file, bytes) => writeFile(ctx.output(file), bytes instanceof Uint8Array ? bytes : Buffer.concat(bytes)),
    signal: new AbortController().signal,
    progress: (p) => progress.push(p),
    info: (message) => info.push(message),
    warn: (message) => warnings.push(message),
  };
  await stage.run(ctx as never);
  if (options.publish ?? true) {
    await mkdir(join(root, 'artifacts', stage.name), { recursive: true });
    for (const file of stage.outputs(pipeline)) {
      await rm(artifact(root, stage.name, file), { recursive: true, force: true });
      await rename(join(staging, file), artifact(root, stage.name, file));
    }
  }
  return { progress, info, warnings, staging };
}

/** One minute bar; `null` prices make a no-trade row (NaN in every value column). */
export interface Minute {
  readonly t: number;
  readonly open?: number;
  readonly high?: number;
  readonly low?: number;
  readonly close?: number;
  readonly btc?: number;
  readonly usd?: number;
  readonly wp?: number;
}

export function minuteRow(m: Minute): string {
  if (m.wp === undefined) return `${m.t},NaN,NaN,NaN,NaN,NaN,NaN,NaN`;
  const price = m.wp;
  return [m.t, m.open ?? price, m.high ?? price, m.low ?? price, m.close ?? price, m.btc ?? 1, m.usd ?? price * (m.btc ?? 1), price].join(',');
}

export async function writeMinutesCsv(path: string, minutes: readonly Minute[], header = KAGGLE_HEADER): Promise<void> {
  await writeFile(path, `${header}\n${minutes.map(minuteRow).join('\n')}\n`);
}

/** A temp project whose data/minutes.csv (`csv`, absolute) holds `minutes`. */
export async function minutesProject(minutes: readonly Minute[]): Promise<{ root: string; csv: string }> {
  const root = await tempProject();
  await mkdir(join(root, 'data'));
  const csv = join(root, 'data', 'minutes.csv');
  await writeMinutesCsv(csv, minutes);
  return { root, csv };
}

/** Seconds since the epoch of a UTC date and time, e.g. utc('2020-03-01', 23, 59). */
export function utc(date: string, hour = 0, minute = 0): number {
  return Date.parse(`${date}T00:00:00Z`) / 1000 + hour * 3600 + minute * 60;
}

/** The Arrow files of an artifact: the file itself, or a folder output's files in name order (ingest's monthly parts). */
export async function arrowFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  return (await readdir(path)).filter((name) => name.endsWith('.arrow')).sort().map((name) => join(path, name));
}

/** All rows of an Arrow IPC file (or folder of them) as plain objects (timestamps and dates as epoch milliseconds). */
export async function readRows(path: string): Promise<Record<string, number | null>[]> {
  const rows: Record<string, number | null>[] = [];
  for (const file of await arrowFiles(path)) {
    const table = tableFromIPC(await readFile(file));
    for (const row of table.toArray()) rows.push(row.toJSON() as Record<string, number | null>);
  }
  return rows;
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** Writes artifacts/aggregate/daily.arrow from dates and prices with apache-arrow directly (not our writer). */
export async function writeDailyArrow(root: string, dates: readonly string[], prices: readonly number[]): Promise<void> {
  const days = Int32Array.from(dates, (date) => Date.parse(`${date}T00:00:00Z`) / 86_400_000);
  const table = new Table({
    date: makeVector({ type: new DateDay(), data: days }),
    price: makeVector(Float64Array.from(prices)),
  });
  await mkdir(join(root, 'artifacts', 'aggregate'), { recursive: true });
  await writeFile(artifact(root, 'aggregate', 'daily.arrow'), tableToIPC(table, 'file'));
}

/** `count` consecutive ISO dates from `first`. */
export function consecutiveDates(first: string, count: number): string[] {
  const start = Date.parse(`${first}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}
