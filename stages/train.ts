import { defineStage } from '../pipeline/contract/stage.ts';
import { MAX_SEED, countOrAuto, flag, fraction, oneOf, paramsOf, positiveInt, positiveNumber, seedInt } from '../pipeline/contract/params.ts';
import { SPREAD_STEP } from './lib/model/spread-seeds.ts';
import { MAX_AUTO_SPREAD } from './lib/model/cost.ts';

export const train = defineStage({
  name: 'train',
  description: 'Train the LSTM forecaster with TensorFlow.js',
  module: import.meta.url,
  params: paramsOf({
    units: positiveInt(4, 'LSTM units per layer'),
    layers: positiveInt(1, 'number of stacked LSTM layers'),
    activation: oneOf(['sigmoid', 'tanh', 'relu', 'linear'], 'sigmoid', 'LSTM activation'),
    dropout: fraction(0, 'dropout rate after each LSTM layer'),
    epochs: positiveInt(30, 'training epochs'),
    batch_size: positiveInt(5, 'mini-batch size'),
    learning_rate: positiveNumber(0.001, 'Adam learning rate'),
    shuffle: flag(true, 'shuffle the training pairs every epoch'),
    seed: seedInt(42, 'seed of weight initialisation and shuffling'),
    spread_seeds: countOrAuto(
      'auto',
      `also train the same config from this many other seeds (seed + 1000·k), so evaluate can show how much the result depends on the seed; 0 = off; auto = ${MAX_AUTO_SPREAD}, or fewer when they would cost more than ~2 minutes of training (stages/lib/model/cost.ts)`,
    ),
  }).superRefine((p, ctx) => {
    const last = p.seed + SPREAD_STEP * (p.spread_seeds === 'auto' ? MAX_AUTO_SPREAD : p.spread_seeds);
    if (last > MAX_SEED) {
      ctx.addIssue({
        code: 'custom',
        path: ['spread_seeds'],
        message: `would train seeds up to seed + ${SPREAD_STEP}·spread_seeds = ${last}, past the largest seed ${MAX_SEED}; lower train.seed or train.spread_seeds`,
      });
    }
  }),
  libraries: ['@tensorflow/tfjs', '@tensorflow/tfjs-node', 'apache-arrow', '@resvg/resvg-js'],
  inputs: () => [{ stage: 'split', file: 'train.arrow' }],
  outputs: () => ['model.json', 'weights.bin', 'history.json', 'summary.txt', 'model.svg', 'model.png', 'report.json', 'spread.json'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for tfjs, Arrow or the chart renderers.
    const { run } = await import('./run/train.ts');
    await run(ctx);
  },
});
