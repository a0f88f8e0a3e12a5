// Issue 4's quality figure ("the model's RMSE is within 10% of persistence") as a distribution over
// seeds instead of one draw: our trainer (stages/lib: tfjs initialisers, fused LSTM, tfjs-equivalent
// Adam) for 100 spaced seeds, beside PyTorch training the same model with Keras' initialisers
// (bench/train/torch_lstm.py, keras cell) for 20 seeds, on the default pipeline's pairs. Also how the
// figure moves with more epochs (ours only), and (issue 16, bench/quality-backtest.ts) the 12-fold
// walk-forward backtest for both targets, price and log_return, over several seeds beside PyTorch.
// Figures also go to bench/results/quality.json.
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadTf } from '../stages/lib/model/tf.ts';
import { buildModel, readWeights } from '../stages/lib/model/model.ts';
import { FusedLstm, type LstmSpec } from '../stages/lib/model/lstm.ts';
import { trainFused } from '../stages/lib/model/trainer.ts';
import { readPairs, type Pairs } from '../stages/lib/data/pairs.ts';
import { DEFAULT, PYTHON, dataRoot, pairsCsv, rmseRatio } from './train.ts';
import { float64Column, readArrowTable } from '../stages/lib/data/arrow.ts';
import { backtestQuality } from './quality-backtest.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** Seeds 0, 1000, …: the model seeds its three initialisers s, s+1, s+2, so no two runs share one. */
const OURS_SEEDS = Array.from({ length: 100 }, (_, k) => 1000 * k);
/** torch.manual_seed streams are independent for neighbouring seeds. */
const TORCH_SEEDS = Array.from({ length: 20 }, (_, k) => k);
/** Epoch counts of the sensitivity sweep; the first is the default. */
const EPOCHS = [30, 60, 100] as const;

const within10 = (r: number) => Math.abs(r - 1) <= 0.1;

/** Quantile with linear interpolation between order statistics (numpy's default, R type 7). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** 95% Wilson score interval of a share k/n. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = ((z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n)));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Two-sided Mann-Whitney U test (normal approximation, tie-corrected ranks): do two samples differ in location? */
function mannWhitney(a: readonly number[], b: readonly number[]): { u: number; z: number; p: number } {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  const r1 = all.reduce((sum, e, i) => (e.g === 0 ? sum + ranks[i]! : sum), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (u - (n1 * n2) / 2) / sigma;
  return { u, z, p: 2 * (1 - normalCdf(Math.abs(z))) };
}

interface Summary {
  runs: number;
  min: number;
  p10: number;
  median: number;
  p90: number;
  max: number;
  within_10pct: number;
  beats_persistence: number;
}

function summarise(ratios: readonly number[]): Summary {
  return {
    runs: ratios.length,
    min: Math.min(...ratios),
    p10: quantile(ratios, 0.1),
    median: quantile(ratios, 0.5),
    p90: quantile(ratios, 0.9),
    max: Math.max(...ratios),
    within_10pct: ratios.filter(within10).length,
    beats_persistence: ratios.filter((r) => r < 1).length,
  };
}

const share = (k: number, n: number) => {
  const [lo, hi] = wilson(k, n);
  return `${k}/${n} (${((100 * k) / n).toFixed(0)}%, 95% CI ${(100 * lo).toFixed(0)}-${(100 * hi).toFixed(0)}%)`;
};

function row(name: string, s: Summary): string {
  const f = (v: number) => v.toFixed(3);
  return `| ${name} | ${s.runs} | ${f(s.min)} | ${f(s.p10)} | ${f(s.median)} | ${f(s.p90)} | ${f(s.max)} | ${share(s.within_10pct, s.runs)} | ${share(s.beats_persistence, s.runs)} |`;
}

/** "worse than k of its n runs": how many runs of the distribution have a lower (better) ratio. */
function rank(value: number, ratios: readonly number[]): string {
  return `worse than ${ratios.filter((r) => r < value).length} of its ${ratios.length} runs`;
}

/** Mean squared error of persistence (tomorrow = today) on pairs, in scaled units. */
function persistenceMse(p: Pairs): number {
  let sum = 0;
  for (let i = 0; i < p.rows; i++) sum += (p.x[i * p.lookback + p.lookback - 1]! - p.y[i]!) ** 2;
  return sum / p.rows;
}

function mse(p: Pairs, predicted: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < p.rows; i++) sum += (predicted[i]! - p.y[i]!) ** 2;
  return sum / p.rows;
}

interface OurRun {
  seed: number;
  seconds: number;
  /** Per epoch count of EPOCHS: test rmse_ratio, last epoch's mean training loss, train-set MSE after. */
  at: Record<number, { rmse_ratio: number; final_loss: number; train_mse: number }>;
}

/**
 * One default-config run trained to the largest epoch count, read out after each count in EPOCHS. Adam
 * has no schedule and the batch order is drawn epoch by epoch from one stream, so the weights after
 * epoch 30 of a 100-epoch run are those of a 30-epoch run (checked for seed 42 below).
 */
async function ours(train: Pairs, test: Pairs, seed: number, epochs: readonly number[]): Promise<OurRun> {
  const spec: LstmSpec & { seed: number } = { lookback: train.lookback, units: DEFAULT.units, layers: 1, activation: DEFAULT.activation, dropout: 0, seed };
  const model = buildModel(spec);
  const theta = readWeights(model, spec);
  model.dispose();
  const trainNet = new FusedLstm(spec, train.rows);
  const testNet = new FusedLstm(spec, test.rows);
  const at: OurRun['at'] = {};
  const t0 = performance.now();
  await trainFused(spec, theta, train, {
    epochs: Math.max(...epochs),
    batchSize: DEFAULT.batch_size,
    learningRate: DEFAULT.learning_rate,
    shuffle: true,
    seed,
    onEpoch: (epoch, loss) => {
      if (!epochs.includes(epoch)) return;
      at[epoch] = {
        rmse_ratio: rmseRatio(test, testNet.predict(theta, test.x, test.rows)),
        final_loss: loss,
        train_mse: mse(train, trainNet.predict(theta, train.x, train.rows)),
      };
    },
  });
  return { seed, seconds: (performance.now() - t0) / 1000, at };
}

interface TorchRun {
  seed: number;
  final_loss: number;
  train_mse: number;
  train_seconds: number;
  test_predictions: number[];
}

interface TorchOutput {
  torch: string;
  threads: number;
  runs: TorchRun[];
}

/** Every day's price: aggregate's daily series, or (without it) the price column of scale's file. */
async function dailyPrices(root: string): Promise<Float64Array> {
  const daily = join(root, 'artifacts', 'aggregate', 'daily.arrow');
  const path = existsSync(daily) ? daily : join(root, 'artifacts', 'scale', 'scaled.arrow');
  return float64Column(await readArrowTable(path), 'price', path);
}

export async function bench(): Promise<void> {
  const data = await dataRoot();
  try {
    await loadTf();
    const train = await readPairs(join(data.root, 'artifacts', 'split', 'train.arrow'));
    const test = await readPairs(join(data.root, 'artifacts', 'split', 'test.arrow'));
    console.log(`data: ${data.source}`);
    console.log(
      `train pairs ${train.rows}, test pairs ${test.rows}, lookback ${train.lookback}; default config: LSTM(${DEFAULT.units}, ${DEFAULT.activation}) -> Dense(1), ` +
        `Adam ${DEFAULT.learning_rate}, batch ${DEFAULT.batch_size}, ${DEFAULT.epochs} epochs, shuffled`,
    );
    console.log('rmse_ratio = model RMSE / persistence RMSE on the test pairs (scaled units; the ratio is unit-free)');

    // Scratch files go under bench/results/ (gitignored), never into the project's tree.
    const work = join(root, 'bench', 'results', 'quality-work');
    await mkdir(work, { recursive: true });
    const csv = join(work, 'pairs.csv');
    const testCsv = join(work, 'test-pairs.csv');
    await writeFile(csv, pairsCsv(train));
    await writeFile(testCsv, pairsCsv(test));

    // PyTorch runs in its own process on the second core while ours train here.
    const torchStarted = performance.now();
    const torchArgs = [
      join(root, 'bench', 'train', 'torch_lstm.py'),
      ...['--csv', csv, '--test', testCsv, '--cell', 'keras', '--units', String(DEFAULT.units), '--activation', DEFAULT.activation],
      ...['--epochs', String(DEFAULT.epochs), '--batch', String(DEFAULT.batch_size), '--lr', String(DEFAULT.learning_rate)],
      ...['--seeds', [...TORCH_SEEDS, DEFAULT.seed].join(',')],
    ];
    const torchPending = run(PYTHON, torchArgs, { maxBuffer: 1 << 26 }).then(
      ({ stdout }) => ({ ok: true as const, out: JSON.parse(stdout.trim().split('\n').at(-1)!) as TorchOutput, wall: (performance.now() - torchStarted) / 1000 }),
      (error: unknown) => ({ ok: false as const, reason: (error as Error).message.split('\n')[0]! }),
    );

    const oursStarted = performance.now();
    const oursRuns: OurRun[] = [];
    for (const seed of OURS_SEEDS) oursRuns.push(await ours(train, test, seed, EPOCHS));
    const ours42 = await ours(train, test, DEFAULT.seed, EPOCHS);
    const oursSeconds = (performance.now() - oursStarted) / 1000;
    // The read-out-after-epoch-30 shortcut must equal a plain 30-epoch run.
    const plain42 = await ours(train, test, DEFAULT.seed, [DEFAULT.epochs]);
    const shortcutOk = plain42.at[DEFAULT.epochs]!.rmse_ratio === ours42.at[DEFAULT.epochs]!.rmse_ratio;

    const torchResult = await torchPending;
    const torchRuns = torchResult.ok ? torchResult.out.runs.filter((r) => TORCH_SEEDS.includes(r.seed)) : [];
    const torch42 = torchResult.ok ? torchResult.out.runs.find((r) => r.seed === DEFAULT.seed) : undefined;
    const torchRatio = (r: TorchRun) => rmseRatio(test, r.test_predictions);

    const e = DEFAULT.epochs;
    const oursRatios = oursRuns.map((r) => r.at[e]!.rmse_ratio);
    const torchRatios = torchRuns.map(torchRatio);
    const oursSummary = summarise(oursRatios);
    const torchSummary = torchRatios.length > 0 ? summarise(torchRatios) : null;

    console.log(`\n### rmse_ratio over seeds, default config (${e} epochs)\n`);
    console.log('| implementation | runs | min | p10 | median | p90 | max | within 10% of persistence | beats persistence (ratio < 1) |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(row(`ours (tfjs initialisers, fused LSTM + Adam), seeds 0, 1000, ..., ${OURS_SEEDS.at(-1)}`, oursSummary));
    if (torchResult.ok && torchSummary) {
      console.log(row(`PyTorch ${torchResult.out.torch} (Keras cell + initialisers), seeds 0..${TORCH_SEEDS.at(-1)}`, torchSummary));
    } else {
      console.log(`| PyTorch: not measured (${torchResult.ok ? 'no runs' : torchResult.reason}) | | | | | | | | |`);
    }
    console.log('\n(p10/p90: linear interpolation between order statistics; shares with 95% Wilson intervals)');

    const r42 = ours42.at[e]!.rmse_ratio;
    console.log(`\nseed ${DEFAULT.seed} (the default): ours ${r42.toFixed(3)}, ${rank(r42, oursRatios)}` + (torch42 ? `; PyTorch ${torchRatio(torch42).toFixed(3)}, ${rank(torchRatio(torch42), torchRatios)}` : ''));
    const mw = torchRatios.length > 0 ? mannWhitney(oursRatios, torchRatios) : null;
    if (mw) {
      console.log(`ours vs PyTorch, Mann-Whitney U (two-sided, normal approx.): U = ${mw.u.toFixed(0)}, z = ${mw.z.toFixed(2)}, p = ${mw.p.toFixed(3)}`);
    }

    const naiveTrain = persistenceMse(train);
    const med = (values: number[]) => quantile(values, 0.5).toPrecision(4);
    console.log(
      `\ntraining pairs (scaled): persistence MSE ${naiveTrain.toPrecision(4)}; median last-epoch training loss ours ${med(oursRuns.map((r) => r.at[e]!.final_loss))}` +
        (torchRuns.length > 0 ? `, PyTorch ${med(torchRuns.map((r) => r.final_loss))}` : '') +
        `; median train-set MSE after training ours ${med(oursRuns.map((r) => r.at[e]!.train_mse))}` +
        (torchRuns.length > 0 ? `, PyTorch ${med(torchRuns.map((r) => r.train_mse))}` : ''),
    );
    const beatTrain = oursRuns.filter((r) => r.at[e]!.train_mse < naiveTrain).length;
    console.log(
      `runs whose train-set MSE beats persistence on the training pairs: ours ${beatTrain}/${oursRuns.length}` +
        (torchRuns.length > 0 ? `, PyTorch ${torchRuns.filter((r) => r.train_mse < naiveTrain).length}/${torchRuns.length}` : ''),
    );

    console.log(`\n### epoch sensitivity (ours, the same ${OURS_SEEDS.length} seeds)\n`);
    console.log('| epochs | median rmse_ratio | p10 | p90 | within 10% | beats persistence | median train-set MSE |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    const byEpochs: Record<number, Summary & { median_train_mse: number }> = {};
    for (const n of EPOCHS) {
      const ratios = oursRuns.map((r) => r.at[n]!.rmse_ratio);
      const s = { ...summarise(ratios), median_train_mse: quantile(oursRuns.map((r) => r.at[n]!.train_mse), 0.5) };
      byEpochs[n] = s;
      console.log(`| ${n} | ${s.median.toFixed(3)} | ${s.p10.toFixed(3)} | ${s.p90.toFixed(3)} | ${share(s.within_10pct, s.runs)} | ${share(s.beats_persistence, s.runs)} | ${s.median_train_mse.toPrecision(4)} |`);
    }

    console.log(
      `\ntime: ours ${OURS_SEEDS.length + 1} runs of ${Math.max(...EPOCHS)} epochs in ${oursSeconds.toFixed(1)} s` +
        (torchResult.ok ? `; PyTorch ${torchResult.out.runs.length} runs of ${e} epochs in ${torchResult.wall.toFixed(1)} s (${torchResult.out.threads} thread(s), alongside ours)` : '') +
        `; epoch-${e} read-out equals a plain ${e}-epoch run (seed ${DEFAULT.seed}): ${shortcutOk ? 'yes' : 'NO'}`,
    );

    await mkdir(join(root, 'bench', 'results'), { recursive: true });
    const results = {
      data: data.source,
      train_rows: train.rows,
      test_rows: test.rows,
      config: { ...DEFAULT, shuffle: true },
      rmse_ratio: 'model RMSE / persistence RMSE on the test pairs, scaled units',
      within_10pct: '|rmse_ratio - 1| <= 0.1',
      quantiles: 'linear interpolation between order statistics (numpy default)',
      persistence_train_mse: naiveTrain,
      ours: {
        implementation: 'tfjs initialisers (stages/lib/model/model.ts) + fused LSTM and Adam (stages/lib/model/trainer.ts)',
        seeds: OURS_SEEDS,
        rmse_ratio: oursRatios,
        final_loss: oursRuns.map((r) => r.at[e]!.final_loss),
        train_mse: oursRuns.map((r) => r.at[e]!.train_mse),
        summary: oursSummary,
        default_seed: { seed: DEFAULT.seed, rmse_ratio: r42, better_runs: oursRatios.filter((r) => r < r42).length, final_loss: ours42.at[e]!.final_loss },
        seconds_all_runs: oursSeconds,
      },
      torch: torchResult.ok
        ? {
            implementation: 'bench/train/torch_lstm.py --cell keras',
            torch: torchResult.out.torch,
            threads: torchResult.out.threads,
            seeds: torchRuns.map((r) => r.seed),
            rmse_ratio: torchRatios,
            final_loss: torchRuns.map((r) => r.final_loss),
            train_mse: torchRuns.map((r) => r.train_mse),
            train_seconds: torchRuns.map((r) => r.train_seconds),
            summary: torchSummary,
            default_seed: torch42 ? { seed: DEFAULT.seed, rmse_ratio: torchRatio(torch42), better_runs: torchRatios.filter((r) => r < torchRatio(torch42)).length, final_loss: torch42.final_loss } : null,
            wall_seconds: torchResult.wall,
          }
        : { error: torchResult.reason },
      mann_whitney_ours_vs_torch: mw,
      epoch_sensitivity: Object.fromEntries(
        EPOCHS.map((n) => [n, { ...byEpochs[n], rmse_ratio: oursRuns.map((r) => r.at[n]!.rmse_ratio), final_loss: oursRuns.map((r) => r.at[n]!.final_loss) }]),
      ),
      epoch_readout_equals_plain_run: shortcutOk,
      backtest: await backtestQuality(await dailyPrices(data.root), work),
    };
    await writeFile(join(root, 'bench', 'results', 'quality.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await data.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
