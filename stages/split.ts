import { defineStage } from '../pipeline/contract/stage.ts';
import { paramsOf, positiveInt } from '../pipeline/contract/params.ts';

export const split = defineStage({
  name: 'split',
  description: 'Supervised pairs (previous days -> day) and the train/test split',
  module: import.meta.url,
  params: paramsOf({
    test_days: positiveInt(30, 'the last N target days form the test set'),
    lookback: positiveInt(1, 'how many previous days are the features of one pair'),
  }),
  libraries: ['apache-arrow'],
  inputs: () => [{ stage: 'scale', file: 'scaled.arrow' }],
  outputs: () => ['train.arrow', 'test.arrow', 'report.json'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for DuckDB or Arrow.
    const { run } = await import('./run/split.ts');
    await run(ctx);
  },
});
