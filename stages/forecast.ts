import { defineStage } from '../pipeline/contract/stage.ts';
import { paramsOf } from '../pipeline/contract/params.ts';
import { trainingUses } from './lib/model/train-uses.ts';

export const forecast = defineStage({
  name: 'forecast',
  description: "Tomorrow's price: the train config refitted on every day, from the last day(s)",
  module: import.meta.url,
  params: paramsOf({}),
  // The train stage's config, seed and seed spread, trained on every day.
  uses: trainingUses({ spread: true }),
  libraries: ['@tensorflow/tfjs', '@tensorflow/tfjs-node', 'apache-arrow'],
  inputs: () => [{ stage: 'aggregate', file: 'daily.arrow' }],
  outputs: () => ['forecast.json', 'model.json', 'weights.bin', 'scaler.json'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs.
    const { run } = await import('./run/forecast.ts');
    await run(ctx);
  },
});
