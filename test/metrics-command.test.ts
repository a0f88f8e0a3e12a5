import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

describe('pipeline metrics', () => {
  test('shows the model beside the persistence baseline, then the ratio', async () => {
    const { code, stdout } = await runCli(['metrics', '--csv'], fixture.root);
    expect(code).toBe(0);
    const m = fixture.metrics;
    expect(stdout).toBe(
      [
        'metric,model,persistence,unit',
        `rmse,${m.model.rmse},${m.persistence.rmse},USD`,
        `mae,${m.model.mae},${m.persistence.mae},USD`,
        `mape,${m.model.mape},${m.persistence.mape},percent`,
        `directional_accuracy,${m.model.directional_accuracy},${m.persistence.directional_accuracy},`,
        `rmse_ratio,${m.rmse_ratio},,`,
      ].join('\n') + '\n',
    );
  });

  test('units go into their own column and notes stay out of the table', async () => {
    const { stdout } = await runCli(['metrics', '--json'], fixture.root);
    expect(JSON.parse(stdout).metrics.notes.rmse_ratio).toMatch(/below 1/);
    const table = (await runCli(['metrics'], fixture.root)).stdout;
    expect(table).not.toMatch(/notes|below 1/);
  });

  test('--json carries the metrics and whether evaluate is fresh', async () => {
    const { code, stdout, stderr } = await runCli(['metrics', '--json'], fixture.root);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ path: 'artifacts/evaluate/metrics.json', fresh: false, metrics: fixture.metrics });
    expect(stderr).toMatch(/^warning: evaluate is stale/);
  });

  test('a figure the run did not produce (seed_spread: null) gets no row; a produced one does', async () => {
    const path = join(fixture.root, 'artifacts', 'evaluate', 'metrics.json');
    const original = await readFile(path, 'utf8');
    try {
      await writeFile(path, JSON.stringify({ ...fixture.metrics, seed_spread: null }));
      const without = await runCli(['metrics', '--csv'], fixture.root);
      expect(without.code).toBe(0);
      expect(without.stdout).not.toMatch(/seed_spread/);
      expect(without.stdout.trimEnd().split('\n').at(-1)).toBe(`rmse_ratio,${fixture.metrics.rmse_ratio},,`);

      await writeFile(path, JSON.stringify({ ...fixture.metrics, seed_spread: { seeds: 4, beats_persistence: 0.25 } }));
      const withSpread = await runCli(['metrics', '--csv'], fixture.root);
      expect(withSpread.stdout).toMatch(/^seed_spread\.seeds,4,,$/m);
      expect(withSpread.stdout).toMatch(/^seed_spread\.beats_persistence,0\.25,,$/m);
    } finally {
      await writeFile(path, original);
    }
  });

  test('the terminal table aligns the figures', async () => {
    const { stdout } = await runCli(['metrics'], fixture.root);
    expect(stdout.split('\n')[0]).toMatch(/^metric\s+model\s+persistence\s+unit$/);
    // Money to cents (issue 13, item 9): persistence's 100 USD reads 100.00.
    expect(stdout).toMatch(/^rmse\s+61\.25\s+100\.00\s+USD$/m);
  });
});
