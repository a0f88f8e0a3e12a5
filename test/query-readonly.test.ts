import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

describe('pipeline query is read-only', () => {
  const writes = [
    ['CREATE TABLE t AS SELECT 1', 'CREATE'],
    ['INSERT INTO aggregate.daily SELECT * FROM aggregate.daily', 'INSERT'],
    ['DELETE FROM aggregate.daily', 'DELETE'],
    ["COPY (SELECT 1) TO 'out.csv'", 'COPY'],
    ["EXPORT DATABASE 'dump'", 'EXPORT'],
    ["ATTACH 'other.db' AS other", 'ATTACH'],
    ['INSTALL httpfs', 'INSTALL'],
    ["SET threads = 1", 'SET'],
    ['PRAGMA enable_profiling', 'PRAGMA'],
    ['  /* sneaky */ drop table aggregate.daily', 'DROP'],
  ] as const;

  test.each(writes)('%s is refused with exit 2', async (sql, what) => {
    const { code, stdout, stderr } = await runCli(['query', sql], fixture.root);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^pipeline query: refused: ${what} statement; pipeline query is read-only`));
  });

  test('a write hidden behind WITH does not run: artifacts are views, which DuckDB will not insert into', async () => {
    const { code, stderr } = await runCli(['query', 'WITH x AS (SELECT 1 AS a) INSERT INTO aggregate.daily (date) SELECT NULL FROM x'], fixture.root);
    expect(code).toBe(2);
    // Either gate may stop it: the view refuses the insert at bind time, the statement-type check after.
    expect(stderr).toMatch(/Catalog Error: daily is not an table|refused: INSERT statement/);
  });

  test('EXPLAIN ANALYZE, which runs what it explains, is refused for a write', async () => {
    for (const sql of ['EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1', '/* plan */ explain analyze (format json) insert into t values (1)']) {
      const { code, stdout, stderr } = await runCli(['query', sql], fixture.root);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^pipeline query: refused: (CREATE|INSERT) statement under EXPLAIN ANALYZE \(which runs it\); pipeline query is read-only/);
    }
    // A write the first keyword does not show is caught by the explained statement's own type
    // (evaluate.metrics, read from JSON, is a real table in the throw-away database).
    const hidden = await runCli(['query', 'EXPLAIN ANALYZE WITH x AS (SELECT 1 AS a) DELETE FROM evaluate.metrics'], fixture.root);
    expect(hidden.code).toBe(2);
    expect(hidden.stderr).toMatch(/^pipeline query: refused: DELETE statement under EXPLAIN ANALYZE \(which runs it\)/);
    const read = await runCli(['query', 'EXPLAIN ANALYZE SELECT count(*) FROM aggregate.daily', '--csv'], fixture.root);
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/ANALYZE/);
  });

  test('a typo in the first keyword gets DuckDB\'s parser error, not a refusal', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELEC 1'], fixture.root);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pipeline query: Parser Error: syntax error at or near "SELEC"/);
  });

  test('PIVOT and UNPIVOT statements are queries, with or without an IN list', async () => {
    const values = "(SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'b', 2 UNION ALL SELECT 'a', 3)";
    const pivot = await runCli(['query', `PIVOT ${values} ON k USING sum(v)`, '--json'], fixture.root);
    expect(pivot.stderr).toBe('');
    expect(pivot.code).toBe(0);
    expect(JSON.parse(pivot.stdout)).toEqual([{ a: 4, b: 2 }]);
    const listed = await runCli(['query', `PIVOT ${values} ON k IN ('b') USING sum(v)`, '--json'], fixture.root);
    expect(JSON.parse(listed.stdout)).toEqual([{ b: 2 }]);
    const unpivot = await runCli(['query', "UNPIVOT (SELECT 1 AS x, 2 AS y) ON x, y INTO NAME k VALUE v", '--csv'], fixture.root);
    expect(unpivot).toMatchObject({ code: 0, stdout: 'k,v\nx,1\ny,2\n' });
  });

  test('reading files from SQL is blocked', async () => {
    const { code, stderr } = await runCli(['query', "SELECT * FROM read_csv('artifacts/sample/minutes.csv')"], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Permission Error: .*file system operations are disabled by configuration/);
  });

  test('two statements at once are refused', async () => {
    const { code, stderr } = await runCli(['query', 'SELECT 1; SELECT 2'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toBe('pipeline query: one statement at a time, please: got 2\n');
  });

  test('no artifact file changes, whatever was attempted', async () => {
    const path = join(fixture.root, 'artifacts/aggregate/daily.arrow');
    const before = await readFile(path);
    await runCli(['query', 'DELETE FROM aggregate.daily'], fixture.root);
    await runCli(['query', "COPY aggregate.daily TO 'artifacts/aggregate/daily.arrow'"], fixture.root);
    expect((await readFile(path)).equals(before)).toBe(true);
  });
});
