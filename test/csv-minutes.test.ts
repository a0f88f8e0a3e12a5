// The row checks and derived columns of ingest (stages/lib/data/csv-minutes.ts) against the same rules
// written as SQL and run by DuckDB, which is how ingest computed them before they moved out of the query:
// random rows in both Kaggle layouts, with every spelling of a missing or infinite value, zero and negative
// prices, High below Low and bad timestamps, must get the same code, timestamp and values row for row.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_TIMESTAMP, CsvMinutes } from '../stages/lib/data/csv-minutes.ts';
import { quotedIdentifier as q, quotedString, withDuckDB } from '../stages/lib/data/duckdb.ts';
import { LAYOUTS, type Layout } from '../stages/lib/data/kaggle-layouts.ts';
import { MINUTE_VALUE_COLUMNS } from '../stages/lib/data/minute-parts.ts';
import { sfc32 } from '../stages/lib/data/minute-random.ts';
import { EARLIEST_TIMESTAMP, readSql } from '../stages/run/ingest.ts';
import { removeProject, tempProject } from './data-helpers.ts';

const LATEST = Date.UTC(2030, 0, 1) / 1000;

/** The rules as one SQL expression per output column (the query ingest used to run). */
function referenceSql(path: string, layout: Layout): string {
  const header = LAYOUTS[layout];
  const columns = header.map((column) => `${quotedString(column)}: 'DOUBLE'`).join(', ');
  const scan = `read_csv(${quotedString(path)}, header = true, auto_detect = false, delim = ',', quote = '"', columns = {${columns}}, nullstr = ['NaN', 'nan', ''], force_not_null = ['Timestamp'])`;
  const cleaned = [q('Timestamp'), ...header.slice(1).map((c) => `nullif(${q(c)}, 'NaN'::DOUBLE) AS ${q(c)}`)];
  const typical = `((${q('High')} + ${q('Low')} + ${q('Close')}) / 3)`;
  const values =
    layout === 'legacy'
      ? header.slice(1).map(q)
      : [q('Open'), q('High'), q('Low'), q('Close'), q('Volume'), `${q('Volume')} * ${typical}`, `CASE WHEN ${q('Volume')} > 0 THEN ${typical} END`];
  const prices = (layout === 'legacy' ? ['Open', 'High', 'Low', 'Close', 'Weighted_Price'] : ['Open', 'High', 'Low', 'Close']).map(q).join(', ');
  const ts = q('Timestamp');
  const bad = `(NOT isfinite(${ts}) OR ${ts} <> trunc(${ts}) OR abs(${ts}) > 9007199254740991)`;
  const infinite = header.slice(1).map((c) => `isinf(${q(c)})`).join(' OR ');
  const code =
    `CASE WHEN ${bad} THEN 9 WHEN (${ts} < ${EARLIEST_TIMESTAMP} OR ${ts} >= ${LATEST}) THEN 8 WHEN ${infinite} THEN 3 ` +
    `WHEN ${q('High')} < ${q('Low')} THEN 1 WHEN least(${prices}) <= 0 THEN 2 ELSE 0 END`;
  const select = [`(CASE WHEN ${bad} THEN 0 ELSE ${ts} END)::DOUBLE`, ...values, code];
  return `SELECT ${select.join(', ')} FROM (SELECT ${cleaned.join(', ')} FROM ${scan})`;
}

const ODD_VALUES = ['NaN', 'nan', '', '-nan', 'NAN', ' NaN', 'inf', '-inf', 'Infinity', '0', '-0', '-1', '1e308', '-5.5'];
const ODD_TIMESTAMPS = ['1600000060.5', '-nan', 'inf', '1600000000000', '-60', '1.6e9', '1600000120.0', '9007199254740993', String(LATEST), String(LATEST - 60), String(EARLIEST_TIMESTAMP), String(EARLIEST_TIMESTAMP - 1)];

/** Rows of `layout`: mostly plain bars, one value in ten and one timestamp in fifty odd. */
function csvOf(layout: Layout, rows: number, seed: number): string {
  const rng = sfc32(seed);
  const next = () => rng.uniform();
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const lines = [LAYOUTS[layout].join(',')];
  let t = 1_600_000_000;
  for (let r = 0; r < rows; r++) {
    t += 60 * (1 + Math.floor(next() * 2));
    const stamp = next() < 0.02 ? pick(ODD_TIMESTAMPS) : String(t);
    const fields = LAYOUTS[layout].slice(1).map(() => (next() < 0.1 ? pick(ODD_VALUES) : (100 + next() * 20).toFixed(next() < 0.5 ? 2 : 6)));
    // All-missing minutes, as the legacy file has them.
    if (next() < 0.05) fields.fill('NaN');
    lines.push([stamp, ...fields].join(','));
  }
  return `${lines.join('\n')}\n`;
}

interface Row {
  code: number;
  timestamp: number;
  values: (number | null)[];
}

async function reference(path: string, layout: Layout): Promise<Row[]> {
  return withDuckDB({}, async (connection) => {
    const reader = await connection.runAndReadAll(referenceSql(path, layout));
    return reader.getRows().map((row) => ({
      code: Number(row[row.length - 1]),
      timestamp: Number(row[0]),
      values: row.slice(1, -1).map((v) => (v === null ? null : Number(v))),
    }));
  });
}

async function ours(path: string, layout: Layout): Promise<Row[]> {
  return withDuckDB({}, async (connection) => {
    const minutes = new CsvMinutes(layout, EARLIEST_TIMESTAMP, LATEST);
    const result = await connection.stream(readSql(path, 'test', layout, false));
    const rows: Row[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) return rows;
      const { n, timestamps, codes, rows: columns } = minutes.read(chunk);
      for (let i = 0; i < n; i++) {
        rows.push({
          code: codes[i]!,
          timestamp: (timestamps[2 * i]! >>> 0) + timestamps[2 * i + 1]! * 4294967296,
          values: columns.values.map((values, c) => {
            const bits = columns.validity[c];
            return bits && ((bits[i >> 3]! >> (i & 7)) & 1) === 0 ? null : values[i]!;
          }),
        });
      }
    }
  });
}

let root: string;
beforeAll(async () => {
  root = await tempProject();
});
afterAll(() => removeProject(root));

describe('the row checks on the way out of DuckDB agree with the same rules in SQL', () => {
  for (const layout of ['legacy', 'current'] as const) {
    it(`every code, timestamp and value of 6000 random rows (${layout} layout, three chunks)`, async () => {
      const path = join(root, `${layout}.csv`);
      await writeFile(path, csvOf(layout, 6000, layout === 'legacy' ? 1 : 2));
      const [expected, actual] = [await reference(path, layout), await ours(path, layout)];
      expect(actual.length).toBe(6000);
      expect(actual.map((r) => r.code)).toEqual(expected.map((r) => r.code));
      // Every code occurs, so no rule goes untested.
      expect(new Set(expected.map((r) => r.code))).toEqual(new Set([0, 1, 2, 3, 8, 9]));
      // A row's values matter only when it is kept; a bad timestamp reads 0 in both.
      const kept = (rows: Row[]) => rows.map((r) => (r.code === 0 ? r : { code: r.code, timestamp: r.code === BAD_TIMESTAMP ? r.timestamp : 0, values: [] }));
      expect(kept(actual)).toEqual(kept(expected));
      expect(MINUTE_VALUE_COLUMNS.length).toBe(actual[0]!.values.length);
    });
  }
});
