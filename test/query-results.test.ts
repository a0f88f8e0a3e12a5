import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

const cliPath = fileURLToPath(new URL('../bin/pipeline.mjs', import.meta.url));
const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

describe('pipeline query', () => {
  test('every Arrow artifact is a table named stage.artifact, dates print as YYYY-MM-DD', async () => {
    const { code, stdout } = await runCli(
      ['query', 'SELECT date, price FROM aggregate.daily WHERE price > 59000 ORDER BY date', '--json'],
      fixture.root,
    );
    expect(code).toBe(0);
    const expected = [...fixture.days]
      .map((day, i) => ({ date: isoDay(day), price: fixture.price[i] }))
      .filter((r) => r.price != null && r.price > 59000);
    expect(expected.length).toBeGreaterThan(0);
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  test('aggregates see every batch and the nulls as SQL NULLs', async () => {
    const { stdout } = await runCli(
      ['query', 'SELECT count(*) AS n, count(price) AS priced, sum(price) AS total, min(date) AS first FROM aggregate.daily', '--json'],
      fixture.root,
    );
    const prices = fixture.price.filter((p): p is number => p !== null);
    const [row] = JSON.parse(stdout) as Record<string, unknown>[];
    expect(row).toMatchObject({ n: 40, priced: prices.length, first: '2021-03-01' });
    expect(row!.total).toBeCloseTo(prices.reduce((a, b) => a + b, 0), 6);
  });

  test('joins artifacts of different stages', async () => {
    const { stdout } = await runCli(
      [
        'query',
        'SELECT p.date, p.real - d.volume_btc AS diff FROM evaluate.predictions p JOIN aggregate.daily d USING (date) ORDER BY p.date LIMIT 2',
        '--csv',
      ],
      fixture.root,
    );
    const rows = fixture.predictions.slice(0, 2).map((p) => {
      const i = fixture.days.indexOf(p.day);
      return `${isoDay(p.day)},${p.real - fixture.volume[i]!}`;
    });
    expect(stdout).toBe(['date,diff', ...rows].join('\n') + '\n');
  });

  // TZ is read when a process starts (and node-api captures the offset when it loads), so setting
  // process.env.TZ in the test process proves nothing: the CLI runs in a child with a far-off TZ.
  test('timestamps print and bucket in UTC even when TZ is far from UTC', async () => {
    const { status, stdout, stderr } = spawnSync(
      process.execPath,
      [
        cliPath,
        'query',
        "SELECT to_timestamp(0) AS t, CAST(min(timestamp) AS DATE) AS day, strftime(min(timestamp), '%H:%M') AS hm, " +
          "[to_timestamp(86400)] AS ts FROM ingest.minutes",
        '--csv',
      ],
      { cwd: fixture.root, encoding: 'utf8', env: { ...process.env, TZ: 'Pacific/Kiritimati', NO_COLOR: '1' } },
    );
    expect(stderr).toMatch(/^warning: ingest is stale/);
    expect(status).toBe(0);
    // Kiritimati is UTC+14 today (UTC−10:40 in 1970): a local-time slip changes every value here.
    // The first minute is 2021-03-01 00:00 UTC.
    expect(stdout).toBe('t,day,hm,ts\n1970-01-01 00:00:00+00,2021-03-01,00:00,[1970-01-02 00:00:00+00]\n');
  }, 30_000);

  test('the aligned view has a header, a rule and right-aligned numbers', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELECT 1.5 AS x, 22 AS y, \'a\' AS s UNION ALL SELECT 10, 3, \'bb\' ORDER BY y'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toBe('  x   y  s\n───  ──  ──\n 10   3  bb\n1.5  22  a\n');
    expect(stderr).toBe('2 rows\n');
  });

  test('--max-rows cuts a long result and says so', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELECT date FROM aggregate.daily ORDER BY date', '--csv', '--max-rows', '3'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toBe(['date', ...[...fixture.days.slice(0, 3)].map(isoDay)].join('\n') + '\n');
    expect(stderr).toMatch(/warning: output cut at 3 rows; --max-rows 0 prints them all/);
    const all = await runCli(['query', 'SELECT date FROM aggregate.daily', '--csv', '--max-rows', '0'], fixture.root);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(41);
    expect(all.stderr).not.toMatch(/cut/);
  });

  test('--csv and --json print every row by default; the aligned table stops at 10,000', async () => {
    const sql = 'SELECT range AS i FROM range(10005)';
    const csv = await runCli(['query', sql, '--csv'], fixture.root);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(['i', ...Array.from({ length: 10005 }, (_, i) => String(i))].join('\n') + '\n');
    expect(csv.stderr).not.toMatch(/cut/);
    const json = await runCli(['query', sql, '--json'], fixture.root);
    expect((JSON.parse(json.stdout) as { i: number }[]).map((r) => r.i)).toEqual(Array.from({ length: 10005 }, (_, i) => i));
    const table = await runCli(['query', sql], fixture.root);
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(2 + 10_000);
    expect(table.stderr).toMatch(/warning: output cut at 10000 rows/);
  });

  test('nested values are real JSON with --json and DuckDB\'s text in CSV', async () => {
    const sql = "SELECT {'a': 1, 'b': [1.5, NULL], 'c': 'x'} AS s, [1, 2]::BIGINT[] AS l, MAP {'k': 2} AS m, [[1], []] AS ll";
    const json = await runCli(['query', sql, '--json'], fixture.root);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { s: { a: 1, b: [1.5, null], c: 'x' }, l: [1, 2], m: [{ key: 'k', value: 2 }], ll: [[1], []] },
    ]);
    const csv = await runCli(['query', sql, '--csv'], fixture.root);
    expect(csv.stdout).toBe(`s,l,m,ll\n"{'a': 1, 'b': [1.5, NULL], 'c': 'x'}","[1, 2]",{'k': 2},"[[1], []]"\n`);
  });

  test('a JSON artifact the SQL names is a one-row table, nested keys as struct fields', async () => {
    const { code, stdout } = await runCli(
      ['query', 'SELECT m.model.rmse AS model, m.persistence.rmse AS baseline, r.gap_count FROM evaluate.metrics m, aggregate.report r', '--json'],
      fixture.root,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([{ model: fixture.metrics.model.rmse, baseline: fixture.metrics.persistence.rmse, gap_count: 2 }]);
  });
});
