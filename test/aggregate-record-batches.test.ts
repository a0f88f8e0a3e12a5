import { readFile } from 'node:fs/promises';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { artifact, minutesProject, readRows, removeProject, runStage, utc, type Minute } from './data-helpers.ts';

// 70,000 bars 30 s apart (24.3 days, all in January, so in one monthly file): more than one of ingest's
// 65,536-row record batches, and the boundary (bar 65,536 = day 23, 18:08) falls inside a day. Values
// from a small LCG; every 11th bar and a run around the boundary have no trade, so the day's first and
// last trades sit in different batches.
const COUNT = 70_000;
const BOUNDARY = 65_536;
const STEP = 30;
const start = utc('2020-01-01');

let state = 12345;
const random = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 4294967296;
};
const minutes: Minute[] = Array.from({ length: COUNT }, (_, i) => {
  const t = start + STEP * i;
  if (i % 11 === 5 || (i >= BOUNDARY - 3 && i < BOUNDARY + 3)) return { t };
  const wp = 7000 + 500 * Math.sin(i / 3000) + 20 * random();
  const btc = 0.01 + 3 * random();
  return { t, open: wp - random(), high: wp + 5 * random(), low: wp - 5 * random(), close: wp + random(), btc, usd: btc * (wp + random() - 0.5), wp };
});

/** Per UTC date, the plain way: group minutes by their ISO date string and reduce each group. */
function expectedDays(): Map<string, Record<string, number>> {
  const groups = new Map<string, Minute[]>();
  for (const m of minutes) {
    const date = new Date(m.t * 1000).toISOString().slice(0, 10);
    if (!groups.has(date)) groups.set(date, []);
    groups.get(date)!.push(m);
  }
  const days = new Map<string, Record<string, number>>();
  for (const [date, rows] of groups) {
    const traded = rows.filter((m) => m.wp !== undefined);
    let price = 0;
    let btc = 0;
    let usd = 0;
    let high = -Infinity;
    let low = Infinity;
    for (const m of traded) {
      price += m.wp!;
      btc += m.btc!;
      usd += m.usd!;
      high = Math.max(high, m.high!);
      low = Math.min(low, m.low!);
    }
    days.set(date, {
      price: price / traded.length,
      open: traded[0]!.open!,
      high,
      low,
      close: traded.at(-1)!.close!,
      volume_btc: btc,
      volume_usd: usd,
      vwap: usd / btc,
      minutes: traded.length,
    });
  }
  return days;
}

let root: string;
beforeAll(async () => {
  const project = await minutesProject(minutes);
  root = project.root;
  await runStage(ingest, root, { inputs: [project.csv] });
});
afterAll(() => removeProject(root));

describe('aggregate over several Arrow record batches', () => {
  it('gives every day, including the one split across two batches, its per-date values', async () => {
    const minutesTable = tableFromIPC(await readFile(artifact(root, 'ingest', 'minutes.arrow/2020-01.arrow')));
    expect(minutesTable.batches.length).toBeGreaterThan(1);
    expect(minutesTable.batches[0]!.numRows).toBe(BOUNDARY);
    const splitDay = new Date((start + STEP * BOUNDARY) * 1000).toISOString().slice(0, 10);
    expect(new Date((start + STEP * (BOUNDARY - 1)) * 1000).toISOString().slice(0, 10)).toBe(splitDay);

    await runStage(aggregate, root, { params: { gaps: 'drop' } });
    const rows = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    const expected = expectedDays();
    expect(rows.map((r) => new Date(r.date!).toISOString().slice(0, 10))).toEqual([...expected.keys()]);
    expect(expected.has(splitDay)).toBe(true);
    for (const row of rows) {
      const date = new Date(row.date!).toISOString().slice(0, 10);
      for (const [key, value] of Object.entries(expected.get(date)!)) {
        expect(Math.abs(row[key]! - value) / Math.abs(value), `${date} ${key}`).toBeLessThan(1e-9);
      }
    }
  });
});
