import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { artifact, minutesProject, readJson, readRows, removeProject, runStage, utc, type Minute } from './data-helpers.ts';

// Four calendar days: 2021-03-01 and 03-02 trade, 03-03 has only no-trade minutes, 03-04 has no rows at
// all, 03-05 trades. Prices follow a simple formula with some no-trade minutes sprinkled in.
function minutesOfDay(date: string, base: number, count: number, noTradeEvery: number): Minute[] {
  return Array.from({ length: count }, (_, i) => {
    const t = utc(date, Math.floor((i * 7) / 60), (i * 7) % 60);
    if (noTradeEvery > 0 && i % noTradeEvery === 3) return { t };
    const wp = base + i * 0.37 + (i % 5) * 1.1;
    return { t, open: wp - 0.5, high: wp + 2 + (i % 3), low: wp - 2 - (i % 4), close: wp + 0.25, btc: 0.1 + (i % 7) * 0.3, usd: (0.1 + (i % 7) * 0.3) * (wp + 0.1), wp };
  });
}

const minutes: Minute[] = [
  ...minutesOfDay('2021-03-01', 49000, 180, 4),
  ...minutesOfDay('2021-03-02', 48000, 150, 0),
  ...minutesOfDay('2021-03-03', 0, 20, 1).map(({ t }) => ({ t })),
  ...minutesOfDay('2021-03-05', 47000, 200, 6),
];

/** The expected daily rows, computed the plain way: group rows by their UTC date string. */
function expectedDays() {
  const days = new Map<string, Minute[]>();
  for (const m of minutes) {
    const date = new Date(m.t * 1000).toISOString().slice(0, 10);
    days.set(date, [...(days.get(date) ?? []), m]);
  }
  const result = new Map<string, Record<string, number>>();
  for (const [date, rows] of days) {
    const traded = rows.filter((m) => m.wp !== undefined);
    if (traded.length === 0) continue;
    const sum = (f: (m: Minute) => number) => traded.reduce((s, m) => s + f(m), 0);
    const btc = sum((m) => m.btc!);
    const usd = sum((m) => m.usd!);
    result.set(date, {
      date: Date.parse(date),
      price: sum((m) => m.wp!) / traded.length,
      open: traded[0]!.open!,
      high: Math.max(...traded.map((m) => m.high!)),
      low: Math.min(...traded.map((m) => m.low!)),
      close: traded.at(-1)!.close!,
      volume_btc: btc,
      volume_usd: usd,
      vwap: usd / btc,
      minutes: traded.length,
    });
  }
  return result;
}

function expectClose(actual: Record<string, number | null>, expected: Record<string, number>) {
  for (const [key, value] of Object.entries(expected)) {
    expect(actual[key], key).toBeCloseTo(value, 9);
    expect(Math.abs((actual[key]! - value) / value), key).toBeLessThan(1e-12);
  }
}

let root: string;
let csv: string;
beforeAll(async () => {
  ({ root, csv } = await minutesProject(minutes));
  await runStage(ingest, root, { inputs: [csv] });
});
afterAll(() => removeProject(root));

describe('aggregate makes one row per UTC day', () => {
  it('computes price, OHLC, volumes, VWAP and minutes with trades per day', async () => {
    await runStage(aggregate, root, { params: { gaps: 'drop' } });
    const rows = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    const expected = expectedDays();
    expect(rows.map((r) => new Date(r.date!).toISOString().slice(0, 10))).toEqual(['2021-03-01', '2021-03-02', '2021-03-05']);
    for (const row of rows) expectClose(row, expected.get(new Date(row.date!).toISOString().slice(0, 10))!);
    expect(await readJson(artifact(root, 'aggregate', 'report.json'))).toEqual({
      gaps: 'drop',
      days: 3,
      first_date: '2021-03-01',
      last_date: '2021-03-05',
      gap_count: 2,
      gap_days: ['2021-03-03', '2021-03-04'],
      filled_days: [],
      dropped_days: ['2021-03-03', '2021-03-04'],
      minutes_with_trades: minutes.filter((m) => m.wp !== undefined).length,
      mode: 'full',
      reused_days: 0,
    });
  });

  it('fills days without trades with the last price when gaps is ffill', async () => {
    await runStage(aggregate, root, { params: { gaps: 'ffill' } });
    const rows = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    const expected = expectedDays();
    const march2 = expected.get('2021-03-02')!;
    expect(rows.map((r) => new Date(r.date!).toISOString().slice(0, 10))).toEqual(['2021-03-01', '2021-03-02', '2021-03-03', '2021-03-04', '2021-03-05']);
    for (const gap of [rows[2]!, rows[3]!]) {
      expect(gap).toEqual({
        date: gap.date,
        price: rows[1]!.price,
        open: march2.close,
        high: march2.close,
        low: march2.close,
        close: march2.close,
        volume_btc: 0,
        volume_usd: 0,
        vwap: rows[1]!.vwap,
        minutes: 0,
      });
    }
    expectClose(rows[4]!, expected.get('2021-03-05')!);
    expect(await readJson(artifact(root, 'aggregate', 'report.json'))).toMatchObject({ gaps: 'ffill', days: 5, gap_count: 2, gap_days: ['2021-03-03', '2021-03-04'] });
  });

  const python = '/usr/bin/python3';
  const hasPandas = existsSync(python) && (() => {
    try {
      execFileSync(python, ['-c', 'import pandas'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasPandas && !process.env.CI)("equals the notebook's pandas groupby mean on every day with trades", async () => {
    await runStage(aggregate, root, { params: { gaps: 'drop' } });
    const rows = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    const script = [
      'import sys, json, pandas as pd',
      'df = pd.read_csv(sys.argv[1])',
      "s = df.groupby(pd.to_datetime(df.Timestamp, unit='s').dt.date)['Weighted_Price'].mean()",
      'print(json.dumps({str(k): (None if v != v else v) for k, v in s.items()}))',
    ].join('\n');
    const pandas = JSON.parse(execFileSync(python, ['-c', script, csv], { encoding: 'utf8' })) as Record<string, number | null>;
    // pandas keeps the all-NaN day as NaN (json: NaN -> null); days with trades must match to 1e-9.
    expect(Object.keys(pandas)).toEqual(['2021-03-01', '2021-03-02', '2021-03-03', '2021-03-05']);
    for (const row of rows) {
      const want = pandas[new Date(row.date!).toISOString().slice(0, 10)]!;
      expect(Math.abs(row.price! - want) / want).toBeLessThan(1e-9);
    }
  });
});
