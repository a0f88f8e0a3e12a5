// Child process of bench/data.ts: the ingest and aggregate stages on <root>/artifacts/sample/minutes.csv,
// artifacts written as a run would (staging folder, then artifacts/<stage>/). Prints one JSON line.
import { aggregate } from '../../stages/aggregate.ts';
import { ingest } from '../../stages/ingest.ts';
import { runStage } from '../../test/data-helpers.ts';

const root = process.argv[2]!;
const cpu0 = process.cpuUsage();
const start = performance.now();
await runStage(ingest, root);
const ingested = performance.now();
await runStage(aggregate, root);
const end = performance.now();
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    seconds: (end - start) / 1000,
    ingest_seconds: (ingested - start) / 1000,
    aggregate_seconds: (end - ingested) / 1000,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
