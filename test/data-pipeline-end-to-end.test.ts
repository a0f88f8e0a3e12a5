import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../pipeline/runner/executor.ts';
import { loadProject } from '../pipeline/runner/project.ts';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { sample } from '../stages/sample.ts';
import { scale } from '../stages/scale.ts';
import { split } from '../stages/split.ts';
import { artifact, readJson, readRows, removeProject, tempProject } from './data-helpers.ts';

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
  await copyFile(join(import.meta.dirname, '..', 'data', 'btc-usd-daily.csv'), join(root, 'data', 'btc-usd-daily.csv'));
  await writeFile(
    join(root, 'pipeline.yaml'),
    'stages:\n  sample: { days: 40, seed: 11 }\n  ingest: { source: sample }\n  aggregate: { gaps: ffill }\n  split: { test_days: 5, lookback: 2 }\n',
  );
});
afterAll(() => removeProject(root));

describe('the data stages run end to end through the runner', () => {
  it('turns the last 40 real days into 33 training and 5 test pairs whose days keep their real Open and Close', async () => {
    const project = await loadProject({ cwd: root, stages: [sample, ingest, aggregate, scale, split] });
    const result = await runPipeline(project, { targets: ['split'] });
    expect(result.outcome).toBe('success');

    // The bundled daily file, read plainly: the last 40 rows.
    const real = (await readFile(join(root, 'data', 'btc-usd-daily.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(-40)
      .map((line) => line.split(','))
      .map(([date, open, high, low, close]) => ({ date: date!, open: Number(open), high: Number(high), low: Number(low), close: Number(close) }));

    const daily = await readRows(artifact(root, 'aggregate', 'daily.arrow'));
    expect(daily.map((d) => new Date(d.date!).toISOString().slice(0, 10))).toEqual(real.map((r) => r.date));
    daily.forEach((day, i) => {
      expect(day.open).toBe(real[i]!.open);
      expect(day.close).toBe(real[i]!.close);
      expect(day.high).toBeLessThanOrEqual(real[i]!.high);
      expect(day.low).toBeGreaterThanOrEqual(real[i]!.low);
      expect(day.price).toBeGreaterThanOrEqual(real[i]!.low);
      expect(day.price).toBeLessThanOrEqual(real[i]!.high);
    });

    expect(await readJson(artifact(root, 'ingest', 'report.json'))).toMatchObject({ rows_read: 40 * 1440, rows_kept: 40 * 1440, days_covered: 40 });
    expect(await readJson(artifact(root, 'scale', 'scaler.json'))).toMatchObject({ fit_from: real[0]!.date, fit_to: real[34]!.date, days_fitted: 35 });
    expect(await readJson(artifact(root, 'split', 'report.json'))).toEqual({
      lookback: 2,
      train_rows: 40 - 2 - 5,
      test_rows: 5,
      train_from: real[2]!.date,
      train_to: real[34]!.date,
      test_from: real[35]!.date,
      test_to: real[39]!.date,
    });
  });
});
