// Big tables print in bounded memory (issue 13, item 1). The aligned table used to hold every row and
// size its columns with Math.max(...lengths): from about 125,000 rows on that overflowed the stack,
// and `query --max-rows 0` on the minutes table took 2.7 GB before it did. Here 400,000 minutes go
// through `query --max-rows 0` and `inspect --head`, in a child process that measures the live heap
// (after a full GC) every few writes: it must stay far below what holding the rows would take.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Field, Float64, RecordBatch, Schema, Struct, Table, TimestampSecond, makeData, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FIXTURE_CONFIG } from './helpers/artifactFixture.ts';
import { AlignedWriter } from '../pipeline/inspect/table.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const ROWS = 400_000;
const BATCH = 50_000;
const START = Date.UTC(2020, 0, 1) / 1000;
/** Six columns; the prices repeat every 1000 minutes, so the first rows already hold the widest. */
const close = (i: number) => 50_000 + (i % 1000) * 0.25;
/** Streamed, the heap grows by about 3 MiB (a 10,000-row sample and one chunk). Holding the rows, as the
 *  table did before, grew it by 14 MiB at 100,000 rows of this file (measured): about 56 MiB at 400,000. */
const HEAP_BOUND_MIB = 16;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-big-table-'));
  await writeFile(join(root, 'pipeline.yaml'), FIXTURE_CONFIG);
  await mkdir(join(root, 'artifacts', 'ingest'), { recursive: true });
  const names = ['open', 'high', 'low', 'close', 'volume_btc'];
  const schema = new Schema([new Field('timestamp', new TimestampSecond('UTC'), false), ...names.map((n) => new Field(n, new Float64(), false))]);
  const batches: RecordBatch[] = [];
  for (let from = 0; from < ROWS; from += BATCH) {
    const n = Math.min(BATCH, ROWS - from);
    const col = (f: (i: number) => number) => makeData({ type: new Float64(), length: n, data: Float64Array.from({ length: n }, (_, k) => f(from + k)) });
    const children = [
      makeData({ type: new TimestampSecond('UTC'), length: n, data: BigInt64Array.from({ length: n }, (_, k) => BigInt(START + 60 * (from + k))) }),
      col((i) => close(i) - 1),
      col((i) => close(i) + 2),
      col((i) => close(i) - 3),
      col(close),
      col((i) => 1 + (i % 7)),
    ];
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children })));
  }
  await writeFile(join(root, 'artifacts', 'ingest', 'minutes.arrow'), tableToIPC(new Table(batches), 'file'));
}, 60_000);
afterAll(() => rm(root, { recursive: true, force: true }));

interface Probe {
  code: number;
  lines: number;
  head: string[];
  tail: string[];
  stderr: string;
  rowLengths: number[];
  peakGrowthMiB: number;
}

async function probe(...argv: string[]): Promise<Probe> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(repo, 'test', 'helpers', 'heap-probe.ts'), root, ...argv],
    { cwd: repo, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Probe;
}

const stamp = (i: number) => new Date((START + 60 * i) * 1000).toISOString().slice(0, 19).replace('T', ' ');

describe('the aligned table streams any number of rows in bounded memory', () => {
  test(`query "select * from ingest.minutes" --max-rows 0 prints all ${ROWS} rows, aligned`, async () => {
    const p = await probe('query', 'SELECT * FROM ingest.minutes', '--max-rows', '0');
    expect(p.code, p.stderr).toBe(0);
    expect(p.lines).toBe(ROWS + 2); // header and rule
    expect(p.head[0]).toMatch(/^timestamp\s+open\s+high\s+low\s+close\s+volume_btc$/);
    expect(p.tail[2]!.split(/\s+/)).toEqual([...stamp(ROWS - 1).split(' '), ...[close(ROWS - 1) - 1, close(ROWS - 1) + 2, close(ROWS - 1) - 3, close(ROWS - 1), 1 + ((ROWS - 1) % 7)].map(String)]);
    expect(p.rowLengths).toHaveLength(1);
    expect(p.stderr).toContain(`${ROWS} rows from ingest.minutes`);
    expect(p.peakGrowthMiB).toBeLessThan(HEAP_BOUND_MIB);
  }, 120_000);

  test(`inspect ingest/minutes --head ${ROWS} streams the rows after the column summary`, async () => {
    const p = await probe('inspect', 'ingest/minutes', '--head', String(ROWS), '--tail', '0');
    expect(p.code, p.stderr).toBe(0);
    expect(p.tail[2]!.split(/\s+/).slice(0, 2)).toEqual(stamp(ROWS - 1).split(' '));
    expect(p.rowLengths).toHaveLength(1);
    expect(p.peakGrowthMiB).toBeLessThan(HEAP_BOUND_MIB);
  }, 120_000);
});

test('a streamed table sizes its columns from the first rows and widens a column only from a wider row on', () => {
  const writer = new AlignedWriter(['name', 'n'], { sampleRows: 2 });
  let out = writer.push([['a', 1]]);
  expect(out).toBe(''); // still sampling
  out += writer.push([['bb', 22]]);
  out += writer.push([['ddddd', 3]]);
  out += writer.push([['e', 4]]);
  out += writer.end();
  // Sized from the header, "bb" and 22: "ddddd" is wider, prints in full and widens its column from there on.
  expect(out.split('\n')).toEqual(['name   n', '────  ──', 'a      1', 'bb    22', 'ddddd   3', 'e       4', '']);
});
