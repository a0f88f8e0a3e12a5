// Arrow files as DuckDB views (a JS table function per file), checked value by value against the
// arrays that were written.
import { DuckDBInstance } from '@duckdb/node-api';
import { DateDay, Field, Float64, Int32, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8, makeData, tableToIPC, vectorFromArray } from 'apache-arrow';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { arrowFooter } from '../pipeline/inspect/arrowFile.ts';
import { createArrowView } from '../pipeline/inspect/arrowToDuckDB.ts';
import { referencedArtifacts } from '../pipeline/inspect/query.ts';
import type { Artifact } from '../pipeline/inspect/artifacts.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-arrow-duckdb-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function withView<T>(path: string, use: (run: (sql: string) => Promise<unknown[][]>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const footer = await arrowFooter(path);
  const view = await createArrowView(connection, path, footer.schema, footer.rows, 'stage', 'data');
  try {
    return await use(async (sql) => (await connection.runAndReadAll(sql)).getRows());
  } finally {
    connection.closeSync();
    instance.closeSync();
    view.tableFunction.destroySync();
  }
}

describe('Arrow files as DuckDB views', () => {
  test('copies doubles, ints, dates and timestamps with their nulls across chunk and batch boundaries', async () => {
    const n = 5000; // more than two DuckDB chunks of 2048 rows
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1000);
    const k = Int32Array.from({ length: n }, (_, i) => i * 7 - 3);
    const day = Int32Array.from({ length: n }, (_, i) => 16000 + i);
    const isNull = (i: number) => i % 97 === 5 || i === 2047 || i === 2048 || i === 4999;
    const bitmap = new Uint8Array(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) if (!isNull(i)) bitmap[i >> 3]! |= 1 << (i & 7);
    const nulls = Array.from({ length: n }, (_, i) => i).filter(isNull).length;
    const schema = new Schema([new Field('x', new Float64(), true), new Field('k', new Int32(), false), new Field('day', new DateDay(), false)]);
    const whole = new RecordBatch(
      schema,
      makeData({
        type: new Struct(schema.fields),
        length: n,
        nullCount: 0,
        children: [
          makeData({ type: new Float64(), length: n, nullCount: nulls, nullBitmap: bitmap, data: x }),
          makeData({ type: new Int32(), length: n, data: k }),
          makeData({ type: new DateDay(), length: n, data: day }),
        ],
      }),
    );
    // Second batch: a slice starting at an odd row, so its validity bits are not byte-aligned.
    const path = join(dir, 'mixed.arrow');
    await writeFile(path, tableToIPC(new Table([whole, whole.slice(3, 1203)]), 'file'));

    await withView(path, async (run) => {
      const [[count, xs]] = (await run('SELECT count(*), count(x) FROM stage.data')) as [[bigint, bigint]];
      expect(Number(count)).toBe(n + 1200);
      const sourceRows = [...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: 1200 }, (_, i) => i + 3)];
      expect(Number(xs)).toBe(sourceRows.filter((i) => !isNull(i)).length);
      const got = await run("SELECT x, k, date_diff('day', DATE '1970-01-01', day) AS d FROM stage.data");
      sourceRows.forEach((i, r) => {
        const [gx, gk, gd] = got[r]!;
        const expected = [isNull(i) ? null : x[i], k[i], day[i]];
        if (gx !== expected[0] || gk !== expected[1] || Number(gd) !== expected[2]) {
          throw new Error(`row ${r} (source ${i}): got ${String([gx, gk, gd])}, expected ${String(expected)}`);
        }
      });
      // Projection pushdown: one column alone, and the view scanned twice in one query.
      const [[sumK]] = (await run('SELECT sum(k) FROM stage.data')) as [[bigint]];
      expect(Number(sumK)).toBe(sourceRows.reduce((s, i) => s + k[i]!, 0));
      const [[pairs]] = (await run('SELECT count(*) FROM stage.data a JOIN stage.data b ON a.k = b.k AND a.day = b.day')) as [[bigint]];
      // Rows 3..1202 appear twice, so each matches itself and its twin.
      expect(Number(pairs)).toBe(n - 1200 + 1200 * 4);
    });
  });

  test('strings and millisecond timestamps take the per-value path and keep their values', async () => {
    const path = join(dir, 'strings.arrow');
    const names = vectorFromArray(['a', null, 'ccc'], new Utf8());
    const times = vectorFromArray([0, 1_614_556_800_123, null], new TimestampMillisecond());
    await writeFile(path, tableToIPC(new Table({ name: names, at: times }), 'file'));
    await withView(path, async (run) => {
      const rows = await run('SELECT name, epoch_ms("at") AS ms FROM stage.data');
      expect(rows.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)))).toEqual([
        ['a', 0],
        [null, 1_614_556_800_123],
        ['ccc', null],
      ]);
    });
  });

  test('the tables a query names are found in its text, quoted or not', () => {
    const artifact = (stage: string, name: string): Artifact => ({ stage, name, file: `${name}.arrow`, path: '', format: 'arrow' });
    const all = [artifact('ingest', 'minutes'), artifact('aggregate', 'daily'), artifact('evaluate', 'predictions')];
    const names = (sql: string) => referencedArtifacts(sql, all).map((a) => `${a.stage}.${a.name}`);
    expect(names('SELECT * FROM aggregate.daily')).toEqual(['aggregate.daily']);
    expect(names('select * from "evaluate"."predictions" p join AGGREGATE . daily using (date)')).toEqual(['aggregate.daily', 'evaluate.predictions']);
    expect(names('SELECT * FROM aggregate.daily_extra')).toEqual([]);
  });
});
