import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatLock, type Lock, type LockEntry } from '../pipeline/runner/lock.ts';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
let html: string;
const durations: Record<string, number> = { sample: 0.25, ingest: 1.5, aggregate: 0.75, scale: 0.125, split: 0.125, train: 4.25, evaluate: 2 };

beforeAll(async () => {
  fixture = await makeFixture();
  // The params each stage ran with: those of the fixture's pipeline.yaml (the report shows the lock's).
  const params: Record<string, Record<string, unknown>> = {
    sample: { days: 0, seed: 7 },
    ingest: { source: 'sample' },
    aggregate: { gaps: 'ffill' },
    scale: { 'split.test_days': 30 },
    split: { test_days: 30, lookback: 1 },
    train: { units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42, spread_seeds: 20 },
    evaluate: {},
  };
  const stages = Object.fromEntries(
    Object.keys(durations).map((stage) => [
      stage,
      { fingerprint: 'a'.repeat(64), code: 'b'.repeat(64), params: params[stage], libraries: {}, inputs: {}, outputs: {} } as unknown as LockEntry,
    ]),
  );
  await writeFile(join(fixture.root, 'pipeline.lock'), formatLock({ version: 1, stages } as Lock));
  // Timings are machine-local, beside the run cache (issue 13, item 11).
  const timings = Object.fromEntries(
    Object.entries(durations).map(([stage, seconds]) => [stage, { seconds, finished: `2026-11-28T10:00:0${Object.keys(durations).indexOf(stage)}.000Z` }]),
  );
  await mkdir(join(fixture.root, 'artifacts', '.cache'), { recursive: true });
  await writeFile(join(fixture.root, 'artifacts', '.cache', 'timings.json'), JSON.stringify({ version: 1, stages: timings }));
  const { code, stdout } = await runCli(['report'], fixture.root);
  expect(code).toBe(0);
  expect(stdout).toMatch(/^wrote artifacts\/report\.html \([\d.]+ KiB\)\n$/); // binary units, named as such (issue 13, item 9)
  html = await readFile(join(fixture.root, 'artifacts', 'report.html'), 'utf8');
});
afterAll(() => fixture.cleanup());

const text = (fragment: string) => fragment.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
const section = (id: string) => text(new RegExp(`<(?:table|dl|pre) id="${id}"[\\s\\S]*?</(?:table|dl|pre)>`).exec(html)?.[0] ?? '');

describe('pipeline report', () => {
  test('is one self-contained file: no external scripts, styles, fonts or images', () => {
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?!data:)[a-z]+:/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(html).not.toMatch(/<script\b/i);
    expect(html.match(/<img class="chart"[^>]*src="data:image\/svg\+xml;base64,/g)).toHaveLength(2);
  });

  test('inlines the charts byte for byte', async () => {
    const svg = await readFile(join(fixture.root, 'artifacts/evaluate/prediction.svg'));
    expect(html).toContain(`data:image/svg+xml;base64,${svg.toString('base64')}`);
  });

  test('has the metrics with the persistence baseline and says whether the model beats it', () => {
    const m = fixture.metrics;
    // Money to cents, ratios to 3 decimals (issue 13, item 9).
    expect(section('metrics')).toContain(`rmse ${m.model.rmse.toFixed(2)} ${m.persistence.rmse.toFixed(2)} USD`);
    expect(section('metrics')).toContain(`directional_accuracy ${m.model.directional_accuracy} ${m.persistence.directional_accuracy} —`);
    expect(text(html)).toContain(`RMSE ratio ${m.rmse_ratio.toFixed(3)}`);
    expect(text(html)).toMatch(/so it beats that baseline/);
  });

  test('summarises the data from aggregate/report.json', () => {
    expect(section('data-summary')).toBe('days 40 first day 2021-03-01 last day 2021-04-09 days without trades 2 gap days 2021-03-04, 2021-03-31');
  });

  test('lists the effective configuration and the timings from artifacts/.cache/timings.json with their total', () => {
    expect(section('config')).toContain('train epochs 30');
    expect(section('config')).toContain('scale split.test_days 30');
    const total = Object.values(durations).reduce((a, b) => a + b, 0);
    expect(section('timings')).toContain('train 4.25 2026-11-28T10:00:05.000Z');
    expect(section('timings')).toMatch(new RegExp(`total ${total} —$`));
  });

  test('includes the model summary and the freshness of every stage', () => {
    expect(section('model-summary')).toContain('lstm (LSTM) [null,4] 96');
    expect(section('freshness')).toMatch(/^stage status why sample stale/);
  });

  test('is written by rename: no temp file is left behind', async () => {
    expect((await readdir(join(fixture.root, 'artifacts'))).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
