import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await makeFixture();
});
afterEach(() => fixture.cleanup());

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

async function reportWith(seedSpread: unknown): Promise<string> {
  const metrics = { ...fixture.metrics, seed_spread: seedSpread };
  await writeFile(join(fixture.root, 'artifacts', 'evaluate', 'metrics.json'), JSON.stringify(metrics));
  const { code } = await runCli(['report'], fixture.root);
  expect(code).toBe(0);
  return readFile(join(fixture.root, 'artifacts', 'report.html'), 'utf8');
}

test('the report says how the ratio spreads over the seeds, and how many beat the baseline', async () => {
  const html = await reportWith({
    seeds: 5,
    rmse_ratio_min: 0.5,
    rmse_ratio_median: 0.625,
    rmse_ratio_max: 1.25,
    within_10pct: 0.2,
    beats_persistence: 0.8,
    better_than_model: 0.25,
  });
  // 0.8 of 5 seeds = 4.
  expect(text(html)).toContain('Trained from 5 seeds, the same config gives a median RMSE ratio of 0.625 (0.500 to 1.250); 4 of them beat the baseline.'); // ratios to 3 decimals (issue 13, item 9)
  expect(text(html)).toContain('seed_spread.rmse_ratio_median 0.625');
});

test('without a seed spread (train.spread_seeds 0) the report says nothing of seeds', async () => {
  const html = await reportWith(null);
  expect(html).not.toContain('id="seed-spread"');
  expect(text(html)).toContain(`RMSE ratio ${fixture.metrics.rmse_ratio.toFixed(3)}`);
});
