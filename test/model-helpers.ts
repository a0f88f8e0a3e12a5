// Throw-away projects for the model stages: synthetic daily prices written as the scale and split
// stages write them (Arrow IPC files and scaler.json), and a StageContext that records progress/info.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateDay, Float64, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import type { z } from 'zod';
import type { PipelineParams, Progress, Stage, StageContext } from '../pipeline/contract/stage.ts';
import { fileWriter } from './data-helpers.ts';

export const DAY_MS = 86_400_000;
/** 2020-01-01 as days since the epoch. */
export const FIRST_DAY = Date.UTC(2020, 0, 1) / DAY_MS;

export interface Fixture {
  readonly root: string;
  readonly days: number[];
  readonly prices: number[];
  readonly scaled: number[];
  readonly min: number;
  readonly max: number;
  readonly lookback: number;
  /** Index into days/prices of each test pair's target day. */
  readonly testTargets: number[];
  readonly trainTargets: number[];
  cleanup(): Promise<void>;
}

/** A smooth, wavy price path with a trend: deterministic, no machine state involved. */
export function syntheticPrices(count: number): number[] {
  return Array.from({ length: count }, (_, d) => 5000 + 1500 * Math.sin(d / 7) + 20 * d + ((d * 37) % 11) * 15);
}

function dateColumn(days: readonly number[]) {
  return makeVector(makeData({ type: new DateDay(), length: days.length, data: Int32Array.from(days) }));
}

function floatColumn(values: readonly number[]) {
  return makeVector(makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values) }));
}

/**
 * Writes artifacts/scale/{scaled.arrow, scaler.json} and artifacts/split/{train,test}.arrow for
 * `count` days, the last `testDays` targets being the test set. The scaler is fitted on the days
 * before the test days, as the notebook's MinMaxScaler is.
 */
export async function writeFixture(
  options: { count?: number; testDays?: number; lookback?: number; prices?: readonly number[]; firstDay?: number } = {},
): Promise<Fixture> {
  const prices = options.prices ? [...options.prices] : syntheticPrices(options.count ?? 60);
  const count = prices.length;
  const testDays = options.testDays ?? 10;
  const lookback = options.lookback ?? 1;
  const root = await mkdtemp(join(tmpdir(), 'pipeline-model-'));
  const firstDay = options.firstDay ?? FIRST_DAY;
  const days = Array.from({ length: count }, (_, i) => firstDay + i);
  const fit = prices.slice(0, count - testDays);
  const min = Math.min(...fit);
  const max = Math.max(...fit);
  const scaled = prices.map((p) => (p - min) / (max - min));

  const scaleDir = join(root, 'artifacts', 'scale');
  const splitDir = join(root, 'artifacts', 'split');
  await mkdir(scaleDir, { recursive: true });
  await mkdir(splitDir, { recursive: true });
  await writeFile(
    join(scaleDir, 'scaled.arrow'),
    tableToIPC(new Table({ date: dateColumn(days), price: floatColumn(prices), scaled: floatColumn(scaled) }), 'file'),
  );
  const iso = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
  await writeFile(
    join(scaleDir, 'scaler.json'),
    JSON.stringify({ min, max, fit_from: iso(days[0]!), fit_to: iso(days[count - testDays - 1]!) }),
  );

  const targets = Array.from({ length: count - lookback }, (_, i) => i + lookback);
  const testTargets = targets.filter((t) => t >= count - testDays);
  const trainTargets = targets.filter((t) => t < count - testDays);
  const pairsTable = (rows: number[]) => {
    const columns: Record<string, ReturnType<typeof floatColumn> | ReturnType<typeof dateColumn>> = {
      date: dateColumn(rows.map((t) => days[t]!)),
    };
    for (let k = 1; k <= lookback; k++) columns[`x${k}`] = floatColumn(rows.map((t) => scaled[t - lookback + k - 1]!));
    columns.y = floatColumn(rows.map((t) => scaled[t]!));
    return tableToIPC(new Table(columns), 'file');
  };
  await writeFile(join(splitDir, 'train.arrow'), pairsTable(trainTargets));
  await writeFile(join(splitDir, 'test.arrow'), pairsTable(testTargets));
  return {
    root,
    days,
    prices,
    scaled,
    min,
    max,
    lookback,
    testTargets,
    trainTargets,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface Recorded<P> {
  readonly ctx: StageContext<P>;
  readonly progress: Progress[];
  readonly info: string[];
  readonly controller: AbortController;
  readonly outDir: string;
}

/** A context for `stage.run`: inputs under root/artifacts, outputs into `outDir` (default artifacts/<stage>). */
export async function contextFor<S extends z.ZodType>(
  stage: Stage<S>,
  root: string,
  params: Record<string, unknown> = {},
  outDir = join(root, 'artifacts', stage.name),
): Promise<Recorded<z.output<S>>> {
  await mkdir(outDir, { recursive: true });
  const progress: Progress[] = [];
  const info: string[] = [];
  const controller = new AbortController();
  const parsed = stage.params.parse(params) as z.output<S>;
  const ctx: StageContext<z.output<S>> = {
    name: stage.name,
    params: parsed,
    pipeline: { [stage.name]: parsed as Record<string, unknown> },
    root,
    inputs: stage.inputs({}).map((i) => ('path' in i ? join(root, i.path) : join(root, 'artifacts', i.stage, i.file))),
    input: (from, file) => join(root, 'artifacts', from, file),
    output: (file) => join(outDir, file),
    writer: (file) => fileWriter(join(outDir, file)),
    writeFile: (file, bytes) => writeFile(join(outDir, file), bytes instanceof Uint8Array ? bytes : Buffer.concat(bytes)),
    signal: controller.signal,
    progress: (p) => progress.push(p),
    info: (m) => info.push(m),
    warn: (m) => info.push(`warning: ${m}`),
  };
  return { ctx, progress, info, controller, outDir };
}

/** Every built-in stage's params, defaults filled in and `overrides` applied: what the runner gives ctx.pipeline. */
export async function pipelineParams(overrides: Record<string, Record<string, unknown>> = {}): Promise<PipelineParams> {
  const { stages } = await import('../stages/index.ts');
  return Object.fromEntries(stages.map((s) => [s.name, s.params.parse(overrides[s.name] ?? {}) as Record<string, unknown>]));
}

/** A context as the runner builds it: this stage's params and every other stage's (for its `uses`). */
export async function stageContext<S extends z.ZodType>(
  stage: Stage<S>,
  root: string,
  overrides: Record<string, Record<string, unknown>> = {},
  outDir = join(root, 'artifacts', stage.name),
): Promise<Recorded<z.output<S>>> {
  const pipeline = await pipelineParams(overrides);
  const recorded = await contextFor(stage, root, overrides[stage.name] ?? {}, outDir);
  return { ...recorded, ctx: { ...recorded.ctx, pipeline } };
}

/** Quick training parameters for tests: the default model, 2 epochs. */
export const QUICK = { epochs: 2 } as const;

/** Writes a fixture, trains the default model for 2 epochs and evaluates it. */
export async function trainAndEvaluate(options: { count?: number; testDays?: number; lookback?: number } = {}) {
  const { train } = await import('../stages/train.ts');
  const { evaluate } = await import('../stages/evaluate.ts');
  const fixture = await writeFixture(options);
  const trained = await contextFor(train, fixture.root, { ...QUICK });
  await train.run(trained.ctx);
  const evaluated = await contextFor(evaluate, fixture.root);
  await evaluate.run(evaluated.ctx);
  return { fixture, evaluated, dir: join(fixture.root, 'artifacts', 'evaluate'), trainDir: join(fixture.root, 'artifacts', 'train') };
}

/** Runs the train stage on a fixture into `<root>/<name>/` and reads back what it wrote. */
export async function trainInto(fixture: Fixture, name: string, params: Record<string, unknown>) {
  const { train } = await import('../stages/train.ts');
  const outDir = join(fixture.root, name);
  const { ctx } = await contextFor(train, fixture.root, params, outDir);
  await train.run(ctx);
  return {
    weights: await readFile(join(outDir, 'weights.bin')),
    history: await readFile(join(outDir, 'history.json'), 'utf8'),
    report: JSON.parse(await readFile(join(outDir, 'report.json'), 'utf8')) as Record<string, unknown>,
  };
}
