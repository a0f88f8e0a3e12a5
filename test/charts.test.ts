import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtestSpec, renderSpec } from '../stages/lib/charts/charts.ts';
import { trainAndEvaluate, type Fixture } from './model-helpers.ts';

let fixture: Fixture;
let dir: string;

beforeAll(async () => {
  ({ fixture, dir } = await trainAndEvaluate({ count: 45, testDays: 7 }));
});
afterAll(() => fixture.cleanup());

/** Checks the PNG signature and IHDR chunk; returns the image size. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.readUInt32BE(8)).toBe(13);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** The point marks of a Vega SVG: their accessible label and x position. */
function points(svg: string): { label: string; x: number }[] {
  const found = [...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="point" transform="translate\(([-\d.e]+),/g)];
  return found.map((m) => ({ label: m[1]!, x: Number(m[2]) }));
}

const iso = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

it('the prediction chart is a valid SVG and PNG titled "BTC Price Prediction"', async () => {
  const svg = await readFile(join(dir, 'prediction.svg'), 'utf8');
  // resvg parses the document (it throws on malformed SVG) and reports its size.
  expect(new Resvg(svg).width).toBeGreaterThan(600);
  expect(svg).toContain('BTC Price Prediction');
  expect(svg).toContain('Price (USD)');
  const png = pngSize(await readFile(join(dir, 'prediction.png')));
  expect(png.width).toBeGreaterThan(600);
});

it('the prediction chart draws one point per test day for real, predicted and persistence', async () => {
  const svg = await readFile(join(dir, 'prediction.svg'), 'utf8');
  const all = points(svg);
  const series = (name: string) => all.filter((p) => p.label.endsWith(`series: ${name}`));
  expect(all).toHaveLength(3 * 7);
  expect(series('real')).toHaveLength(7);
  expect(series('predicted')).toHaveLength(7);
  expect(series('persistence (yesterday)')).toHaveLength(7);
});

it('each prediction is drawn on the day it predicts, at the same x as that day’s real price', async () => {
  const svg = await readFile(join(dir, 'prediction.svg'), 'utf8');
  const all = points(svg);
  const xOf = (name: string, date: string) => {
    const p = all.find((q) => q.label.startsWith(`Date (UTC): ${date};`) && q.label.endsWith(`series: ${name}`));
    if (!p) throw new Error(`no ${name} point on ${date}`);
    return p.x;
  };
  for (const t of fixture.testTargets) {
    const date = iso(fixture.days[t]!);
    expect(xOf('predicted', date)).toBe(xOf('real', date));
  }
  // No point sits on the last training day (the input of the first prediction).
  const dayBefore = iso(fixture.days[fixture.testTargets[0]! - 1]!);
  expect(all.some((p) => p.label.startsWith(`Date (UTC): ${dayBefore};`))).toBe(false);
});

it('the date axis of a 7-day chart names each date at most once', async () => {
  const svg = await readFile(join(dir, 'prediction.svg'), 'utf8');
  const axis = svg.slice(svg.indexOf('aria-label="X-axis'));
  const labelGroup = /role-axis-label[\s\S]*?<\/g>/.exec(axis)?.[0] ?? '';
  const labels = [...labelGroup.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1]!);
  const testDates = fixture.testTargets.map((t) => iso(fixture.days[t]!));
  expect(labels.length).toBeGreaterThanOrEqual(2);
  expect(new Set(labels).size).toBe(labels.length);
  for (const label of labels) expect(testDates).toContain(label);
});

it('the loss chart draws one point per epoch', async () => {
  const svg = await readFile(join(dir, 'loss.svg'), 'utf8');
  expect(points(svg)).toHaveLength(2);
  pngSize(await readFile(join(dir, 'loss.png')));
});

describe('the backtest chart', () => {
  // 3 folds of 4 days from 2021-05-01; the persistence forecast is the real price of the day before.
  const real = [100, 104, 103, 110, 108, 115, 117, 112, 120, 125, 123, 130];
  const predicted = [101, 102, 106, 107, 111, 112, 119, 115, 118, 127, 121, 128];
  const dates = real.map((_, i) => iso(Date.UTC(2021, 4, 1 + i) / 86_400_000));
  const points = real.map((r, i) => ({ date: dates[i]!, real: r, predicted: predicted[i]!, persistence: i === 0 ? 98 : real[i - 1]! }));
  const folds = [
    { fold: 1, from: '2021-05-01', to: '2021-05-04', rmse_ratio: 0.8 },
    { fold: 2, from: '2021-05-05', to: '2021-05-08', rmse_ratio: 1.25 },
    { fold: 3, from: '2021-05-09', to: '2021-05-12', rmse_ratio: 0.95 },
  ];
  let svg: string;
  let png: Uint8Array;
  beforeAll(async () => {
    ({ svg, png } = await renderSpec(backtestSpec(points, folds)));
  });

  const numbers = (text: string) => [...text.matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
  /** Each series' line: its label and its vertices. */
  function lines(): Map<string, { x: number; y: number }[]> {
    const found = [...svg.matchAll(/<path aria-label="[^"]*series: ([^"]+)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]+)"/g)];
    return new Map(found.map((m) => [m[1]!, numbers(m[2]!)]));
  }

  it('is titled with its folds, and renders to a valid SVG and PNG', () => {
    expect(svg).toContain('Walk-forward backtest: 3 folds, one-step-ahead');
    expect(new Resvg(svg).width).toBeGreaterThan(700);
    expect(pngSize(Buffer.from(png)).width).toBeGreaterThan(1400);
  });

  it('has a date axis over the 12 days, a price axis, a fold axis with the 3 folds and a ratio axis', () => {
    expect(svg).toContain(`aria-label="X-axis titled 'Date (UTC)' for a utc scale with values from 2021-05-01 to 2021-05-12"`);
    expect(svg).toMatch(/aria-label="Y-axis titled 'Price \(USD\)' for a linear scale with values from [\d.]+ to [\d.]+"/);
    expect(svg).toContain(`aria-label="X-axis titled 'Fold' for a discrete scale with 3 values: 1, 2, 3"`);
    expect(svg).toMatch(/aria-label="Y-axis titled 'RMSE ratio' for a linear scale/);
    for (const label of ['real', 'predicted', 'persistence (yesterday)', 'RMSE ratio per fold (model / persistence; below 1: the model was better)']) {
      expect(svg).toContain(`>${label}</text>`);
    }
  });

  it('draws real, predicted and persistence as one line each over every day, each forecast on the day it predicts', () => {
    const all = lines();
    expect([...all.keys()].sort()).toEqual(['persistence (yesterday)', 'predicted', 'real']);
    const line = (name: string) => all.get(name)!;
    for (const name of all.keys()) expect(line(name)).toHaveLength(12);
    // One day apart, the same x for the same day in every series.
    const step = line('real')[1]!.x - line('real')[0]!.x;
    line('real').forEach((p, i) => {
      expect(p.x).toBeCloseTo(line('real')[0]!.x + i * step, 2);
      expect(line('predicted')[i]!.x).toBeCloseTo(p.x, 3);
      expect(line('persistence (yesterday)')[i]!.x).toBeCloseTo(p.x, 3);
    });
    // Heights follow the prices on one linear scale (up is a smaller y): y = a − b·usd for all series.
    const [first, last] = [line('real')[0]!, line('real')[11]!];
    const b = (first.y - last.y) / (130 - 100);
    expect(b).toBeGreaterThan(0);
    const y = (usd: number) => first.y - b * (usd - 100);
    line('predicted').forEach((p, i) => expect(p.y).toBeCloseTo(y(predicted[i]!), 2));
    line('persistence (yesterday)').forEach((p, i) => expect(p.y).toBeCloseTo(y(points[i]!.persistence), 2));
  });

  it('marks the fold boundaries half-way between the last day of a fold and the first of the next', () => {
    const real = lines().get('real')!;
    const rules = [...svg.matchAll(/<line aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="rule mark" transform="translate\(([-\d.e]+),/g)]
      .filter((m) => m[1]!.includes('starts:'))
      .map((m) => ({ label: m[1]!, x: Number(m[2]) }));
    expect(rules.map((r) => r.label.replace(/^.*fold: /, 'fold: '))).toEqual(['fold: 2; starts: 2021-05-05', 'fold: 3; starts: 2021-05-09']);
    expect(rules[0]!.x).toBeCloseTo((real[3]!.x + real[4]!.x) / 2, 2);
    expect(rules[1]!.x).toBeCloseTo((real[7]!.x + real[8]!.x) / 2, 2);
  });

  it("draws each fold's RMSE ratio as a bar from the line at 1, green where the model was better, red where persistence was", () => {
    const one = /<line aria-label="one: 1" role="graphics-symbol" aria-roledescription="rule mark" transform="translate\([-\d.e]+,([-\d.e]+)\)/.exec(svg);
    expect(one).not.toBeNull();
    const at1 = Number(one![1]);
    const bars = [...svg.matchAll(/<path aria-label="Fold: (\d); RMSE ratio: ([\d.]+); better: (\w+)[^"]*" role="graphics-symbol" aria-roledescription="bar" d="M[-\d.e]+,([-\d.e]+)h[-\d.e]+v([-\d.e]+)h[^"]*" fill="([^"]+)"/g)]
      .map((m) => ({ fold: Number(m[1]), ratio: Number(m[2]), better: m[3], top: Number(m[4]), height: Number(m[5]), fill: m[6] }))
      .sort((a, b) => a.fold - b.fold);
    expect(bars.map((b) => [b.fold, b.ratio, b.better, b.fill])).toEqual([
      [1, 0.8, 'model', '#2e8b57'],
      [2, 1.25, 'persistence', '#c0504d'],
      [3, 0.95, 'model', '#2e8b57'],
    ]);
    // Below 1 the bar hangs from the line; above 1 it stands on it. Heights in proportion to |ratio − 1|.
    expect(bars[0]!.top).toBeCloseTo(at1, 2);
    expect(bars[1]!.top + bars[1]!.height).toBeCloseTo(at1, 2);
    expect(bars[2]!.top).toBeCloseTo(at1, 2);
    const perUnit = bars[0]!.height / 0.2;
    expect(bars[1]!.height).toBeCloseTo(perUnit * 0.25, 2);
    expect(bars[2]!.height).toBeCloseTo(perUnit * 0.05, 2);
  });
});
