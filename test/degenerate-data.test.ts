// Degenerate data gets a warning where it appears, not a failure three stages later (issue 13, item
// 12): a constant price (scale), one training pair (split), sample.days above the data (capped).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scale } from '../stages/scale.ts';
import { consecutiveDates, removeProject, runStage, tempProject, writeDailyArrow } from './data-helpers.ts';
import { runCli } from './helpers/cli.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));

test('scale warns when every training day has the same price, and still scales as sklearn does', async () => {
  const root = await tempProject();
  try {
    await writeDailyArrow(root, consecutiveDates('2021-01-01', 40), Array.from({ length: 40 }, (_, i) => (i < 30 ? 100 : 120)));
    const run = await runStage(scale, root, { pipeline: { split: { test_days: 10, lookback: 1 } } });
    expect(run.warnings).toEqual([
      "the price is the same on all 30 training days (100 USD): there is no range to scale, so every training day scales to 0 (sklearn's rule for a zero range) and the model can only learn a constant",
    ]);
    // sklearn: scale_ = 1 / 1 for a zero range, min_ = -100: the test days' 120 becomes 20.
    const scaler = JSON.parse(await readFile(join(root, 'artifacts', 'scale', 'scaler.json'), 'utf8')) as { scale: number; offset: number };
    expect(scaler).toMatchObject({ scale: 1, offset: -100 });
  } finally {
    await removeProject(root);
  }
});

test('scale does not warn on a price that moves', async () => {
  const root = await tempProject();
  try {
    await writeDailyArrow(root, consecutiveDates('2021-01-01', 40), Array.from({ length: 40 }, (_, i) => 100 + i));
    expect((await runStage(scale, root, { pipeline: { split: { test_days: 10, lookback: 1 } } })).warnings).toEqual([]);
  } finally {
    await removeProject(root);
  }
});

describe('a run on five days of prices, asked for nine, with three test days', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pipeline-degenerate-'));
    await mkdir(join(root, 'data'));
    const daily = (await readFile(join(repo, 'data', 'btc-usd-daily.csv'), 'utf8')).split('\n');
    await writeFile(join(root, 'data', 'btc-usd-daily.csv'), `${daily.slice(0, 6).join('\n')}\n`);
    await writeFile(join(root, 'pipeline.yaml'), 'stages:\n  sample: { days: 9 }\n  split: { test_days: 3 }\n  backtest: { folds: 1, horizon: 2 }\n');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  test('sample says the days are capped and split that there is one training pair, as they happen', async () => {
    const { code, stdout, stderr } = await runCli(['run', 'split'], root);
    expect(code).toBe(0);
    expect(stderr).toBe(
      '  warning: sample: sample.days = 9 is more than the 5 days of btc-usd-daily.csv: capped at 5\n' +
        '  warning: split: only 1 training pair (2014-09-18): the model is fitted to a single example and its forecasts mean little; ' +
        'give it more days (sample.days, or a longer ingest.source) or fewer test days (split.test_days = 3)\n',
    );
    expect(stdout).toContain('  split: 1 training pair (2014-09-18 .. 2014-09-18), 3 test pairs (2014-09-19 .. 2014-09-21)\n');
    expect(stdout).toContain('  sample: 5 days, 7200 minute rows\n');
  });

  test('--json carries each stage\'s warnings', async () => {
    const { stdout } = await runCli(['run', 'split', '--from', 'sample', '--json'], root);
    const result = JSON.parse(stdout) as { stages: { stage: string; warnings?: string[] }[] };
    expect(result.stages.find((s) => s.stage === 'split')!.warnings).toEqual([expect.stringMatching(/^only 1 training pair/)]);
    expect(result.stages.find((s) => s.stage === 'sample')!.warnings).toEqual([expect.stringMatching(/capped at 5$/)]);
    expect(result.stages.find((s) => s.stage === 'aggregate')!.warnings).toBeUndefined();
  });
});
