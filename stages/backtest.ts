import { defineStage } from '../pipeline/contract/stage.ts';
import { paramsOf, positiveInt } from '../pipeline/contract/params.ts';
import { trainingUses } from './lib/model/train-uses.ts';

export const backtest = defineStage({
  name: 'backtest',
  description: 'Walk-forward backtest: refit scaler and model before each window, one-step-ahead against persistence, Diebold–Mariano',
  module: import.meta.url,
  params: paramsOf({
    folds: positiveInt(12, 'test windows, each one after the other up to the last day; scaler and model are refitted on the days before each'),
    horizon: positiveInt(30, 'days per window; equal to split.test_days, the last fold is exactly evaluate\'s test window'),
  }),
  // The model is the train stage's config and seed (its seed spread is not part of the backtest).
  uses: trainingUses({ spread: false }),
  libraries: ['@tensorflow/tfjs', '@tensorflow/tfjs-node', 'apache-arrow', 'vega', 'vega-lite', 'vega-statistics', '@resvg/resvg-js'],
  inputs: () => [{ stage: 'aggregate', file: 'daily.arrow' }],
  outputs: () => ['predictions.arrow', 'metrics.json', 'backtest.svg', 'backtest.png'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for tfjs, Arrow or the chart renderers.
    const { run } = await import('./run/backtest.ts');
    await run(ctx);
  },
});
