import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

interface Detail {
  rows: number;
  batches: number;
  fresh: boolean;
  schema: { name: string; type: string; nullable: boolean }[];
  stats: { name: string; nulls: number; min: unknown; max: unknown; mean: number | null }[];
  head: Record<string, unknown>[];
  tail: Record<string, unknown>[];
}

describe('pipeline inspect STAGE/ARTIFACT on an Arrow file', () => {
  test('shows the schema, the row count and per-column min, max, mean and nulls over all record batches', async () => {
    const { code, stdout } = await runCli(['inspect', 'aggregate/daily', '--json'], fixture.root);
    expect(code).toBe(0);
    const d = JSON.parse(stdout) as Detail;
    expect(d.rows).toBe(40);
    expect(d.batches).toBe(2);
    expect(d.schema).toEqual([
      { name: 'date', type: 'Date32<DAY>', nullable: false },
      { name: 'price', type: 'Float64', nullable: true },
      { name: 'volume_btc', type: 'Float64', nullable: false },
    ]);
    // Expected figures straight from the values the fixture wrote.
    const prices = fixture.price.filter((p): p is number => p !== null);
    const price = d.stats.find((s) => s.name === 'price')!;
    expect(price.nulls).toBe(2);
    expect(price.min).toBe(Math.min(...prices));
    expect(price.max).toBe(Math.max(...prices));
    expect(price.mean).toBeCloseTo(prices.reduce((a, b) => a + b, 0) / prices.length, 9);
    const volume = d.stats.find((s) => s.name === 'volume_btc')!;
    // 1000 + i² for i = 0..39: mean = 1000 + (39·40·79/6)/40.
    expect(volume.mean).toBeCloseTo(1000 + (39 * 40 * 79) / 6 / 40, 9);
    const date = d.stats.find((s) => s.name === 'date')!;
    expect(date).toMatchObject({ nulls: 0, min: '2021-03-01', max: '2021-04-09', mean: null });
  });

  test('--head and --tail pick the first and last rows, across batch boundaries', async () => {
    const { stdout } = await runCli(['inspect', 'aggregate/daily.arrow', '--json', '--head', '27', '--tail', '17'], fixture.root);
    const d = JSON.parse(stdout) as Detail;
    expect(d.head).toHaveLength(27);
    expect(d.tail).toHaveLength(17);
    const expectRow = (row: Record<string, unknown>, i: number) =>
      expect(row).toEqual({ date: isoDay(fixture.days[i]!), price: fixture.price[i], volume_btc: fixture.volume[i] });
    d.head.forEach((row, i) => expectRow(row, i));
    d.tail.forEach((row, i) => expectRow(row, 40 - 17 + i));
  });

  test('--csv with --head/--tail prints those rows, each once, after their position in the file', async () => {
    const line = (i: number) => `${i},${isoDay(fixture.days[i]!)},${fixture.price[i] ?? ''},${fixture.volume[i]}`;
    const header = 'row,date,price,volume_btc';
    const both = await runCli(['inspect', 'aggregate/daily', '--csv', '--head', '4', '--tail', '2'], fixture.root);
    expect(both.code).toBe(0);
    // Row 3 has no price: an empty field.
    expect(both.stdout).toBe([header, ...[0, 1, 2, 3, 38, 39].map(line)].join('\n') + '\n');
    const tailOnly = await runCli(['inspect', 'aggregate/daily', '--csv', '--tail', '1'], fixture.root);
    expect(tailOnly.stdout).toBe(`${header}\n${line(39)}\n`);
    // Head and tail overlapping (30 + 15 > 40 rows, across the batch boundary at 25): every row once.
    const overlap = await runCli(['inspect', 'aggregate/daily', '--csv', '--head', '30', '--tail', '15'], fixture.root);
    expect(overlap.stdout).toBe([header, ...Array.from({ length: 40 }, (_, i) => line(i))].join('\n') + '\n');
    // Without --head/--tail, CSV stays the column summary.
    const summary = await runCli(['inspect', 'aggregate/daily', '--csv'], fixture.root);
    expect(summary.stdout.split('\n')[0]).toBe('name,type,nullable,nulls,min,max,mean');
  });

  test('prints dates as YYYY-MM-DD and UTC timestamps whatever TZ says', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati'; // UTC+14: a local-time slip would change the date
    try {
      const { stdout } = await runCli(['inspect', 'ingest/minutes', '--json', '--head', '1', '--tail', '1'], fixture.root);
      const d = JSON.parse(stdout) as Detail;
      expect(d.head[0]!.timestamp).toBe('2021-03-01 00:00:00');
      expect(d.tail[0]!.timestamp).toBe('2021-03-01 00:05:00');
      const close = d.stats.find((s) => s.name === 'close')!;
      const closes = fixture.minuteClose.filter((c): c is number => c !== null);
      expect(close.nulls).toBe(1);
      expect(close.mean).toBeCloseTo(closes.reduce((a, b) => a + b, 0) / closes.length, 9);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  test('the terminal view has the column summary and both row samples', async () => {
    const { code, stdout } = await runCli(['inspect', 'aggregate/daily', '--head', '2', '--tail', '1'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toContain('rows      40 in 2 record batches');
    expect(stdout).toMatch(/^price\s+Float64\s+yes\s+2\s+50000\s+59750\s+54932\.434$/m);
    expect(stdout).toMatch(/first 2 rows\ndate\s+price\s+volume_btc\n[─ ]+\n2021-03-01\s+50000\s+1000\n2021-03-02\s+50267\.5\s+1001\n/);
    expect(stdout).toMatch(/last 1 row\ndate\s+price\s+volume_btc\n[─ ]+\n2021-04-09\s+59750\s+2521\n/);
  });
});
