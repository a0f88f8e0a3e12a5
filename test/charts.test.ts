import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
