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
