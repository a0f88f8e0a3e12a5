import { defineStage } from '../pipeline/contract/stage.ts';
import { oneOf, paramsOf, text } from '../pipeline/contract/params.ts';

export const ingest = defineStage({
  name: 'ingest',
  description: 'Read and validate the minute CSV (either Kaggle layout) with DuckDB into monthly Arrow files',
  module: import.meta.url,
  params: paramsOf({
    source: text('sample', '"sample" (the embedded sample) or a path to a Kaggle bitstampUSD 1-min CSV (.csv or .csv.gz)'),
    layout: oneOf(['auto', 'legacy', 'current'], 'auto', 'the CSV layout: legacy (8 columns, Weighted_Price), current (6 columns, Volume), or auto: by the header'),
  }),
  // A source that only grew by appended rows is read from where the previous run stopped.
  incremental: true,
  libraries: ['@duckdb/node-api', 'apache-arrow'],
  inputs: (p) => (p.ingest?.source === 'sample' ? [{ stage: 'sample', file: 'minutes.csv' }] : [{ path: String(p.ingest?.source) }]),
  outputs: () => ['minutes.arrow/', 'report.json'],
  async run(ctx) {
    // The body (and its heavy libraries) loads only when the stage runs: `pipeline status` and a
    // no-op run never pay for DuckDB or Arrow.
    const { run } = await import('./run/ingest.ts');
    await run(ctx);
  },
});
