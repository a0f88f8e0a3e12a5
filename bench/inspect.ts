// How fast the inspecting commands answer on the full-size artifacts (~3.9M minute rows, ~250 MB
// minutes.arrow, one file per month): the footer-only row count `pipeline inspect` lists against reading
// every file whole,
// the one-pass column statistics of `inspect ingest/minutes`, and `pipeline query` over the minutes
// (views on the Arrow file: projection pushdown, nothing copied into DuckDB tables).
// No peer: Debian's pandas cannot read Arrow IPC without pyarrow, which is not packaged here.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { arrowFooter, arrowParts, scanArrow } from '../pipeline/inspect/arrowFile.ts';
import { listArtifacts } from '../pipeline/inspect/artifacts.ts';
import { main } from '../pipeline/cli/main.ts';
import { loadProject } from '../pipeline/runner/project.ts';
import { runReadOnlyQuery } from '../pipeline/inspect/query.ts';

const project = fileURLToPath(new URL('..', import.meta.url));
const work = join(project, 'bench', 'results', 'inspect');

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Median wall milliseconds of `times` runs. */
async function time(times: number, run: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

export async function bench(): Promise<void> {
  await mkdir(join(work, 'data'), { recursive: true });
  await copyFile(join(project, 'pipeline.yaml'), join(work, 'pipeline.yaml'));
  await copyFile(join(project, 'data', 'btc-usd-daily.csv'), join(work, 'data', 'btc-usd-daily.csv'));
  const minutesPath = join(work, 'artifacts', 'ingest', 'minutes.arrow');
  console.log('building the full-size project up to aggregate (pipeline run aggregate)...');
  const out = new Sink();
  const code = await main(['run', 'aggregate'], { stdout: out, stderr: out, cwd: work, env: { NO_COLOR: '1' } });
  if (code !== 0 || !existsSync(minutesPath)) throw new Error(`pipeline run aggregate failed (${code}):\n${out.text}`);

  const p = await loadProject({ cwd: work });
  const artifacts = listArtifacts(p.artifactsDir, p.stages, p.params);
  const footer = await arrowFooter(minutesPath);
  const figures = {
    minutes_rows: footer.rows,
    minutes_files: arrowParts(minutesPath).length,
    minutes_mb: Number(((await Promise.all(arrowParts(minutesPath).map((f) => readFile(f)))).reduce((n, b) => n + b.byteLength, 0) / 1e6).toFixed(1)),
    footer_row_count_ms: await time(5, () => arrowFooter(minutesPath)),
    full_read_row_count_ms: await time(3, async () => {
      let rows = 0;
      for (const part of arrowParts(minutesPath)) rows += tableFromIPC(await readFile(part)).numRows;
      return rows;
    }),
    column_stats_scan_ms: await time(3, () => scanArrow(minutesPath, { head: 5, tail: 5 })),
    query_count_avg_close_ms: await time(3, () => runReadOnlyQuery('SELECT count(*), avg(close) FROM ingest.minutes', artifacts)),
    query_daily_mean_ms: await time(3, () =>
      runReadOnlyQuery('SELECT CAST(timestamp AS DATE) AS day, avg(weighted_price) FROM ingest.minutes GROUP BY 1', artifacts),
    ),
    query_select_star_first_10000_ms: await time(3, () => runReadOnlyQuery('SELECT * FROM ingest.minutes', artifacts, { maxRows: 10_000 })),
    query_daily_table_ms: await time(5, () => runReadOnlyQuery('SELECT * FROM aggregate.daily', artifacts)),
  };
  for (const [name, value] of Object.entries(figures)) {
    console.log(`${name.padEnd(34)} ${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(1) : value}`);
  }
  await writeFile(join(project, 'bench', 'results', 'inspect.json'), JSON.stringify(figures, null, 2) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench();
