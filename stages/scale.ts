import { defineStage } from '../pipeline/contract/stage.ts';
import { oneOf, paramsOf } from '../pipeline/contract/params.ts';

export const scale = defineStage({
  name: 'scale',
  description: 'Min-max scale the daily price (or its log return) to [0, 1], fitted on the training days only',
  module: import.meta.url,
  params: paramsOf({
    target: oneOf(
      ['price', 'log_return'],
      'price',
      'what the model predicts: the price (the notebook) or the daily log return ln p_t − ln p_{t−1}, turned back into a price from the real day before',
    ),
  }),
  uses: ['split.test_days'],
  libraries: ['apache-arrow'],
  inputs: () => [{ stage: 'aggregate', file: 'daily.arrow' }],
  outputs: () => ['scaled.arrow', 'scaler.json'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for DuckDB or Arrow.
    const { run } = await import('./run/scale.ts');
    await run(ctx);
  },
});
