// The seed spread: the same config trained from other seeds, so the evaluation can say how much of a
// result is the model and how much is the luck of one random start and batch order. With the notebook's
// model on one lagged price, rmse_ratio moves by ±10% from seed to seed (bench/quality.ts), enough to flip
// "beats persistence" either way; one seed's figure alone would not be an honest evaluation.
//
// train writes the spread models' weights (it never sees the test days); evaluate scores them.
import { z } from 'zod';
import { readJson } from '../data/json-file.ts';
import { paramLayout, type LstmSpec } from './lstm.ts';

// Weights travel as base64 of little-endian float32 (weights.bin's own encoding): exact, and a quarter
// of the size of decimal numbers, which matters for big configs times the run cache's copies.
const WEIGHTS_ENCODING = 'float32 little-endian, base64';

const SpreadRun = z.object({
  seed: z.number().int().nonnegative(),
  final_loss: z.number(),
  weights: z.base64(),
});

const SpreadFile = z.object({
  /** The seed of the trained model (model.json) the spread is measured around. */
  seed: z.number().int().nonnegative(),
  weights_encoding: z.literal(WEIGHTS_ENCODING),
  spec: z.object({
    lookback: z.number().int().positive(),
    units: z.number().int().positive(),
    layers: z.number().int().positive(),
    activation: z.enum(['sigmoid', 'tanh', 'relu', 'linear']),
    dropout: z.number().min(0).max(1),
  }),
  runs: z.array(SpreadRun),
});

export interface Spread {
  readonly seed: number;
  readonly spec: LstmSpec;
  readonly runs: readonly { readonly seed: number; readonly finalLoss: number; readonly theta: Float32Array }[];
}

export function spreadJson(seed: number, spec: LstmSpec, runs: readonly { seed: number; finalLoss: number; theta: Float32Array }[]): string {
  const { lookback, units, layers, activation, dropout } = spec;
  const file = {
    seed,
    weights_encoding: WEIGHTS_ENCODING,
    spec: { lookback, units, layers, activation, dropout },
    runs: runs.map((r) => ({ seed: r.seed, final_loss: r.finalLoss, weights: encodeWeights(r.theta) })),
  };
  return `${JSON.stringify(file)}\n`;
}

function encodeWeights(theta: Float32Array): string {
  const bytes = Buffer.alloc(theta.length * 4);
  theta.forEach((w, i) => bytes.writeFloatLE(w, i * 4));
  return bytes.toString('base64');
}

function decodeWeights(text: string): Float32Array | undefined {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

/** Reads train's spread.json; every run's weights must fit the spec's layout. */
export async function readSpread(path: string): Promise<Spread> {
  const file = await readJson(path, SpreadFile);
  const spec = file.spec;
  const size = paramLayout(spec).size;
  const runs = file.runs.map((run, i) => {
    const theta = decodeWeights(run.weights);
    if (theta?.length !== size) {
      const found = theta ? `${theta.length} weights` : `${Buffer.from(run.weights, 'base64').length} bytes, not whole float32s`;
      throw new Error(`${path}: key "runs.${i}.weights": ${found}; the spec's model has ${size}`);
    }
    return { seed: run.seed, finalLoss: run.final_loss, theta };
  });
  return { seed: file.seed, spec, runs };
}

export interface SpreadSummary {
  readonly seeds: number;
  readonly rmse_ratio_min: number;
  readonly rmse_ratio_median: number;
  readonly rmse_ratio_max: number;
  /** Share of seeds whose rmse_ratio is within 10% of persistence's (|ratio − 1| ≤ 0.1). */
  readonly within_10pct: number;
  /** Share of seeds whose model beats persistence (ratio < 1). */
  readonly beats_persistence: number;
  /** Share of the other seeds whose ratio is lower (better) than the trained model's. */
  readonly better_than_model: number;
}

/** `modelRatio` is the trained model's; `otherRatios` the spread models'. */
export function summarizeSpread(modelRatio: number, otherRatios: readonly number[]): SpreadSummary | null {
  if (otherRatios.length === 0) return null;
  const all = [modelRatio, ...otherRatios];
  const sorted = [...all].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    seeds: all.length,
    rmse_ratio_min: sorted[0]!,
    rmse_ratio_median: median,
    rmse_ratio_max: sorted[sorted.length - 1]!,
    within_10pct: all.filter((r) => Math.abs(r - 1) <= 0.1).length / all.length,
    beats_persistence: all.filter((r) => r < 1).length / all.length,
    better_than_model: otherRatios.filter((r) => r < modelRatio).length / otherRatios.length,
  };
}
