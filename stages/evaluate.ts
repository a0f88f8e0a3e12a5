import { defineStage } from '../pipeline/contract/stage.ts';
import { paramsOf } from '../pipeline/contract/params.ts';

export const evaluate = defineStage({
  name: 'evaluate',
  description: 'Predict the test days, compare with the persistence baseline, draw the charts',
  module: import.meta.url,
  params: paramsOf({}),
  libraries: ['@tensorflow/tfjs', '@tensorflow/tfjs-node', 'apache-arrow', 'vega', 'vega-lite', '@resvg/resvg-js'],
  inputs: () => [
    { stage: 'split', file: 'test.arrow' },
    { stage: 'scale', file: 'scaled.arrow' },
    { stage: 'scale', file: 'scaler.json' },
    { stage: 'train', file: 'model.json' },
    { stage: 'train', file: 'weights.bin' },
    { stage: 'train', file: 'history.json' },
    { stage: 'train', file: 'spread.json' },
  ],
  outputs: () => ['predictions.arrow', 'metrics.json', 'prediction.png', 'prediction.svg', 'loss.png', 'loss.svg', 'seeds.arrow'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for tfjs, Arrow or the chart renderers.
    const { run } = await import('./run/evaluate.ts');
    await run(ctx);
  },
});
