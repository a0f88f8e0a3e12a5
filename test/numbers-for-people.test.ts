// Numbers for people (issue 13, item 9): metrics and the report print money to cents and ratios and
// shares to 3 decimals (CSV and JSON keep every digit); sizes in binary units say so (KiB, MiB);
// `metrics --diff` does not report float noise as a change. Expected texts are rounded by hand.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { humanSize } from '../pipeline/inspect/artifacts.ts';
import { formatLock, type Lock, type LockEntry } from '../pipeline/runner/lock.ts';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';
import { commitAll, initRepo } from './helpers/git.ts';

/** metrics.json as evaluate writes it for the default sample (figures of README's run). */
const metrics = {
  days: 30,
  model: { rmse: 1465.1964421475695, mae: 1273.971131711234, mape: 3.167417675538559, directional_accuracy: 0.5333333333333333 },
  persistence: { rmse: 1296.5941054609507, mae: 1029.9002778543006, mape: 2.5313511535352062, directional_accuracy: null },
  up_days_share: 0.5333333333333333,
  rmse_ratio: 1.130034785733257,
  beats_persistence: false,
  seed_spread: { seeds: 21, rmse_ratio_min: 0.986913386235038, rmse_ratio_median: 1.0481130665535747, within_10pct: 0.8095238095238095 },
  units: {
    rmse: 'USD',
    mae: 'USD',
    mape: 'percent',
    directional_accuracy: 'share of days, 0..1',
    up_days_share: 'share of days, 0..1',
    seed_spread: { seeds: 'models', within_10pct: 'share of seeds, 0..1' },
  },
};

let fixture: Fixture;
beforeEach(async () => {
  fixture = await makeFixture();
  await writeFile(join(fixture.root, 'artifacts/evaluate/metrics.json'), JSON.stringify(metrics));
});
afterEach(() => fixture.cleanup());

const rowOf = (table: string, name: string) => table.split('\n').find((line) => line.startsWith(`${name} `))?.trim().split(/\s{2,}/);

test('metrics: USD to cents, percent to 2 decimals, ratios and shares to 3, counts as they are', async () => {
  const { stdout } = await runCli(['metrics'], fixture.root);
  expect(rowOf(stdout, 'rmse')).toEqual(['rmse', '1465.20', '1296.59', 'USD']);
  expect(rowOf(stdout, 'mae')).toEqual(['mae', '1273.97', '1029.90', 'USD']);
  expect(rowOf(stdout, 'mape')).toEqual(['mape', '3.17', '2.53', 'percent']);
  expect(rowOf(stdout, 'directional_accuracy')).toEqual(['directional_accuracy', '0.533', 'share of days, 0..1']);
  expect(rowOf(stdout, 'rmse_ratio')).toEqual(['rmse_ratio', '1.130']);
  expect(rowOf(stdout, 'seed_spread.rmse_ratio_min')).toEqual(['seed_spread.rmse_ratio_min', '0.987']);
  expect(rowOf(stdout, 'seed_spread.within_10pct')).toEqual(['seed_spread.within_10pct', '0.810', 'share of seeds, 0..1']);
  expect(rowOf(stdout, 'seed_spread.seeds')).toEqual(['seed_spread.seeds', '21', 'models']);
  expect(rowOf(stdout, 'days')).toEqual(['days', '30']);
  // CSV keeps every digit.
  expect((await runCli(['metrics', '--csv'], fixture.root)).stdout).toContain('rmse,1465.1964421475695,1296.5941054609507,USD\n');
});

test('the report rounds the same way', async () => {
  expect((await runCli(['report'], fixture.root)).code).toBe(0);
  const html = await readFile(join(fixture.root, 'artifacts', 'report.html'), 'utf8');
  expect(html).toContain('<tr><td>rmse</td><td class="num">1465.20</td><td class="num">1296.59</td><td>USD</td></tr>');
  expect(html).toContain('<p id="verdict">RMSE ratio 1.130:');
  expect(html).toContain('<tr><td>seed_spread.within_10pct</td><td class="num">0.810</td>');
});

test('sizes are in binary units and named so', () => {
  expect(humanSize(431)).toBe('431 B');
  expect(humanSize(1536)).toBe('1.5 KiB');
  // 266,143,187 bytes / 1,048,576 = 253.81…
  expect(humanSize(266_143_187)).toBe('253.8 MiB');
  expect(humanSize(3 * 2 ** 30)).toBe('3.0 GiB');
});

describe('metrics --diff and float noise', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  async function commitBaseline(baseline: unknown): Promise<void> {
    const text = JSON.stringify(baseline);
    const entry = {
      fingerprint: sha('f'),
      code: sha('c'),
      params: {},
      libraries: {},
      inputs: {},
      outputs: { 'artifacts/evaluate/metrics.json': { size: text.length, hash: sha(text) } },
    } as unknown as LockEntry;
    await writeFile(join(fixture.root, 'pipeline.lock'), formatLock({ version: 1, stages: { evaluate: entry } } as Lock));
    await mkdir(join(fixture.root, 'artifacts/.cache/objects'), { recursive: true });
    await writeFile(join(fixture.root, 'artifacts/.cache/objects', sha(text)), text);
    initRepo(fixture.root);
    commitAll(fixture.root, 'baseline');
  }

  test('figures that differ by float noise (1.4e-12) are no change', async () => {
    await commitBaseline({ ...metrics, model: { ...metrics.model, rmse: metrics.model.rmse + 1.4e-12, mape: metrics.model.mape - 4e-15 }, rmse_ratio: metrics.rmse_ratio + 2e-16 });
    const { code, stdout } = await runCli(['metrics', '--diff'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toBe('no metric changed\n');
  });

  test('a real change is listed, rounded like the metrics', async () => {
    await commitBaseline({ ...metrics, model: { ...metrics.model, rmse: 1500 }, rmse_ratio: 1.156 });
    const { stdout } = await runCli(['metrics', '--diff'], fixture.root);
    expect(rowOf(stdout, 'model.rmse')).toEqual(['model.rmse', '1500.00', '1465.20', '-34.80']);
    expect(rowOf(stdout, 'rmse_ratio')).toEqual(['rmse_ratio', '1.156', '1.130', '-0.026']);
    const json = JSON.parse((await runCli(['metrics', '--diff', '--json'], fixture.root)).stdout) as { diff: { key: string; change: number }[] };
    expect(json.diff.map((r) => r.key)).toEqual(['model.rmse', 'rmse_ratio']);
  });
});
