import { defineStage } from '../pipeline/contract/stage.ts';
import { oneOf, paramsOf } from '../pipeline/contract/params.ts';

export const aggregate = defineStage({
  name: 'aggregate',
  description: 'One row per UTC day: mean price of the traded minutes, OHLC, volumes, VWAP',
  module: import.meta.url,
  params: paramsOf({
    gaps: oneOf(['ffill', 'drop'], 'ffill', 'days with no trade: keep and carry the last price (ffill), or drop'),
  }),
  libraries: ['apache-arrow'],
  inputs: () => [{ stage: 'ingest', file: 'minutes.arrow/' }],
  // After a refresh only the minutes from the previous last day on are read; the days before it are taken over.
  incremental: true,
  outputs: () => ['daily.arrow', 'report.json'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for DuckDB or Arrow.
    const { run } = await import('./run/aggregate.ts');
    await run(ctx);
  },
});
