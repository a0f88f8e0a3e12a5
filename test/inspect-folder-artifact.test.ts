// ingest's minutes.arrow is a folder of monthly Arrow files: inspect and query read it as one table.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { csvText, minuteBars } from './helpers/minuteFiles.ts';

// 2022-01-31 and 2022-02-01: two days, two monthly files.
const bars = minuteBars({ first: '2022-01-31', days: 2, seed: 5 });
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-inspect-folder-'));
  await mkdir(join(root, 'data'));
  await writeFile(join(root, 'data', 'minutes.csv'), csvText(bars, 'legacy'));
  await writeFile(join(root, 'pipeline.yaml'), 'stages:\n  ingest: { source: data/minutes.csv }\n');
  const run = await runCli(['run', 'aggregate'], root);
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
});
afterAll(() => rm(root, { recursive: true, force: true }));

test('the listing counts the rows and bytes of all the files', async () => {
  const dir = join(root, 'artifacts', 'ingest', 'minutes.arrow');
  const parts = await readdir(dir);
  expect(parts.sort()).toEqual(['2022-01.arrow', '2022-02.arrow']);
  let bytes = 0;
  for (const part of parts) bytes += (await stat(join(dir, part))).size;
  const listed = JSON.parse((await runCli(['inspect', '--json'], root)).stdout) as { file: string; rows: number; size: number; fresh: boolean }[];
  expect(listed.find((a) => a.file === 'minutes.arrow')).toMatchObject({ rows: 2880, size: bytes, fresh: true });
});

test('the detail scans every file in order: statistics, first and last rows', async () => {
  const { code, stdout } = await runCli(['inspect', 'ingest/minutes', '--json', '--head', '1', '--tail', '1'], root);
  expect(code).toBe(0);
  const detail = JSON.parse(stdout) as { rows: number; batches: number; stats: { name: string; min: unknown; max: unknown; nulls: number }[]; head: { timestamp: string }[]; tail: { timestamp: string }[] };
  expect(detail.rows).toBe(2880);
  expect(detail.batches).toBe(2);
  expect(detail.head[0]!.timestamp).toBe('2022-01-31 00:00:00');
  expect(detail.tail[0]!.timestamp).toBe('2022-02-01 23:59:00');
  const ts = detail.stats.find((s) => s.name === 'timestamp')!;
  expect([ts.min, ts.max]).toEqual(['2022-01-31 00:00:00', '2022-02-01 23:59:00']);
  expect(detail.stats.find((s) => s.name === 'weighted_price')!.nulls).toBe(bars.filter((b) => !b.traded).length);
});

test('query sees one table ingest.minutes', async () => {
  const { code, stdout } = await runCli(['query', 'SELECT count(*) AS n, count(weighted_price) AS traded, min(timestamp) AS first FROM ingest.minutes', '--json'], root);
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toEqual([{ n: 2880, traded: bars.filter((b) => b.traded).length, first: '2022-01-31 00:00:00' }]);
});
