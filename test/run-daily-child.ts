// Run by aggregate-utc.test.ts in a child process with a given TZ: ingest + aggregate over a CSV, then
// prints the daily dates and prices, and what the process believes its time zone offset is.
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { artifact, readJson, readRows, runStage } from './data-helpers.ts';

const [root, csv] = process.argv.slice(2) as [string, string];
await runStage(ingest, root, { inputs: [csv] });
await runStage(aggregate, root, { params: { gaps: 'drop' } });
const rows = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
console.log(
  JSON.stringify({
    offsetMinutes: new Date(Date.UTC(2021, 0, 1)).getTimezoneOffset(),
    dates: rows.map((r) => new Date(r.date!).toISOString().slice(0, 10)),
    prices: rows.map((r) => r.price),
    report: await readJson(artifact(root, 'ingest', 'report.json')),
  }),
);
