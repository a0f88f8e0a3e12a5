// The cost of training, said before it starts: the arithmetic of a config (checked by hand), the
// spread_seeds: auto rule, the estimate line's wording, and the train stage printing it only when its
// estimate is over a minute. The stage times its first steps with performance.now(); a stubbed clock
// that runs 1 s per reading makes a tiny model look slow, so no test depends on this machine's speed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { train } from '../stages/train.ts';
import { forecast } from '../stages/forecast.ts';
import { backtest } from '../stages/backtest.ts';
import { autoSpreadSeeds, estimateLine, flopsPerPair, otherTrainings, trainingFlops } from '../stages/lib/model/cost.ts';
import { contextFor, stageContext, writeFixture, type Fixture } from './model-helpers.ts';
import { consecutiveDates, readJson, removeProject, tempProject, writeDailyArrow } from './data-helpers.ts';

describe('the arithmetic of a config', () => {
  it('one pair through LSTM(4) over 1 step and back is 504 floating-point operations', () => {
    // Gates: (1 input + 4 units) × 16 multiply-adds; as many for the input/state gradient and for the
    // weight gradient: 3 × 80 × 2 = 480. Dense(1): 3 × 4 × 2 = 24.
    expect(flopsPerPair({ lookback: 1, units: 4, layers: 1 })).toBe(504);
    // Two layers of 3 units over 2 steps: (1+3)·12 + (3+3)·12 = 120 multiply-adds a step, ×2 steps ×3 ×2
    // = 1440, + Dense 18.
    expect(flopsPerPair({ lookback: 2, units: 3, layers: 2 })).toBe(1458);
    expect(trainingFlops({ lookback: 1, units: 4, layers: 1 }, 2692, 30)).toBe(504 * 2692 * 30);
  });

  it('spread_seeds: auto keeps 20 seeds for the notebook model and fewer as one model costs more', () => {
    // The notebook's model on the default data: 41 MFLOP a model.
    expect(autoSpreadSeeds(trainingFlops({ lookback: 1, units: 4, layers: 1 }, 2692, 30))).toBe(20);
    // 64 units over 30 days, 2663 pairs, 30 epochs: 2.39e11 a model; 10 fit 2.4e12.
    expect(autoSpreadSeeds(trainingFlops({ lookback: 30, units: 64, layers: 1 }, 2663, 30))).toBe(10);
    // 128 units over 60 days: 1.88e12, one spread seed.
    expect(autoSpreadSeeds(trainingFlops({ lookback: 60, units: 128, layers: 1 }, 2633, 30))).toBe(1);
    expect(autoSpreadSeeds(3e12)).toBe(0);
  });
});

describe('the estimate line', () => {
  const none = { models: 0, forecast: 0, backtestFolds: 0 };
  it('says the time, the models and how to train fewer, as the issue words it', () => {
    expect(estimateLine({ seconds: 840, models: 21, weights: 16961, spreadSeeds: 20, auto: false, later: none })).toBe(
      'about 14 min for 21 models of 16961 weights (spread_seeds 20; set train.spread_seeds: 0 for one model)',
    );
    expect(estimateLine({ seconds: 75, models: 11, weights: 66817, spreadSeeds: 10, auto: true, later: none })).toBe(
      'about 75 s for 11 models of 66817 weights (spread_seeds auto: 10; set train.spread_seeds: 0 for one model)',
    );
    expect(estimateLine({ seconds: 2 * 3600, models: 1, weights: 5, spreadSeeds: 0, auto: false, later: none })).toBe(
      'about 2.0 h for 1 model of 5 weights (spread_seeds 0)',
    );
  });

  it('counts the forecast and backtest models when the pipeline has those stages', () => {
    const later = otherTrainings({ train: {}, forecast: { horizon: 1 }, backtest: { folds: 5, horizon: 30 } }, 20);
    expect(later).toEqual({ models: 26, forecast: 21, backtestFolds: 5 });
    expect(otherTrainings({ train: {} }, 20)).toEqual(none);
    expect(estimateLine({ seconds: 4000, models: 21, weights: 101, spreadSeeds: 20, auto: true, later })).toBe(
      'about 67 min for 47 models of 101 weights (spread_seeds auto: 20; forecast 21; backtest 5 folds; set train.spread_seeds: 0 or fewer backtest.folds for fewer models)',
    );
    expect(estimateLine({ seconds: 4000, models: 1, weights: 101, spreadSeeds: 0, auto: false, later: otherTrainings({ backtest: { folds: 5 } }, 0) })).toBe(
      'about 67 min for 6 models of 101 weights (spread_seeds 0; backtest 5 folds; set fewer backtest.folds for fewer models)',
    );
  });

  it("names the backtest's own folds when the models are them", () => {
    expect(estimateLine({ seconds: 600, models: 12, weights: 101, folds: 12, later: none })).toBe(
      'about 10 min for 12 models of 101 weights (12 folds, one model each; set fewer backtest.folds for fewer models)',
    );
  });

  it('is not said for a minute or less', () => {
    expect(estimateLine({ seconds: 60, models: 21, weights: 101, spreadSeeds: 20, auto: true, later: none })).toBeUndefined();
  });
});

describe('the train stage', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await writeFixture({ count: 60, testDays: 10 });
  });
  afterAll(() => fixture.cleanup());

  async function runWith(params: Record<string, unknown>, pipeline?: Record<string, Record<string, unknown>>) {
    const { ctx, outDir } = await contextFor(train, fixture.root, params, `${fixture.root}/out-${Object.values(params).join('-')}`);
    const events: string[] = [];
    await train.run({
      ...ctx,
      pipeline: { ...ctx.pipeline, ...pipeline },
      info: (message) => events.push(message),
      progress: (p) => events.push(`progress ${p.done}/${p.total}`),
    });
    return { events, outDir };
  }

  it('says the estimate before the progress starts when the first steps say it will take over a minute', async () => {
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 1000));
    let events: string[];
    try {
      ({ events } = await runWith({ epochs: 3, spread_seeds: 'auto' }, { backtest: { folds: 4 } }));
    } finally {
      now.mockRestore();
    }
    const lines = events.filter((e) => e.startsWith('about '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^about \d+(\.\d)? (min|h) for 25 models of 101 weights \(spread_seeds auto: 20; backtest 4 folds; set train\.spread_seeds: 0 or fewer backtest\.folds for fewer models\)$/);
    expect(events.indexOf(lines[0]!)).toBeLessThan(events.findIndex((e) => e.startsWith('progress')));
    // Every epoch is still reported: the model's 3 and the 20 spread seeds' 3 each, from the first.
    const progress = events.filter((e) => e.startsWith('progress'));
    expect(progress).toEqual(Array.from({ length: 63 }, (_, i) => `progress ${i + 1}/63`));
  });

  it('says nothing when the training is short', async () => {
    const { events } = await runWith({ epochs: 2, spread_seeds: 3 });
    expect(events.filter((e) => e.startsWith('about '))).toEqual([]);
  });

  it('report.json says how many spread seeds auto chose and why', async () => {
    const { outDir } = await runWith({ epochs: 1, spread_seeds: 'auto' });
    const report = JSON.parse(await (await import('node:fs/promises')).readFile(`${outDir}/report.json`, 'utf8'));
    expect(report.config.spread_seeds).toBe('auto');
    expect(report.spread_seeds).toBe(20);
    // 49 pairs, 1 epoch: 504 × 49 FLOP a model.
    expect(report.spread_rule).toBe(`auto: 20 seeds of ${((504 * 49) / 1e9).toPrecision(3)} GFLOP each within the 2.4 TFLOP spread budget (at most 20)`);
  });
});

describe('resolving spread_seeds', () => {
  it('a number is itself; auto is counted from the cost and says when it keeps fewer than 20', async () => {
    const { resolveSpreadSeeds } = await import('../stages/lib/model/cost.ts');
    expect(resolveSpreadSeeds(7, 1e15)).toEqual({ count: 7, rule: '7 as set' });
    expect(resolveSpreadSeeds('auto', 1e9).count).toBe(20);
    expect(resolveSpreadSeeds('auto', 1e9).fewer).toBeUndefined();
    // 0.3 TFLOP a model: 8 fit 2.4 TFLOP; 20 would be 6 TFLOP.
    expect(resolveSpreadSeeds('auto', 3e11)).toEqual({
      count: 8,
      rule: 'auto: 8 seeds of 300 GFLOP each within the 2.4 TFLOP spread budget (at most 20)',
      fewer: '8 seeds, not 20 (spread_seeds auto: 20 would be 6.0 TFLOP of training, over the 2.4 TFLOP budget; set train.spread_seeds to choose)',
    });
  });
});

// The forecast and backtest stages train the train config too (stages/lib/model/train-models.ts): they
// time their first model's first steps and say the same line. With the stubbed clock a step takes 1 s,
// so the estimate is the number of steps of all their models, counted here by hand.
describe('the forecast and backtest stages', () => {
  let root: string;
  const DAYS = 30;
  const LOOKBACK = 2;
  beforeAll(async () => {
    root = await tempProject();
    const dates = consecutiveDates('2021-03-01', DAYS);
    await writeDailyArrow(root, dates, dates.map((_, i) => 30_000 + 400 * Math.sin(i / 4) + 35 * i));
  });
  afterAll(() => removeProject(root));

  async function runStage(stage: typeof forecast | typeof backtest, overrides: Record<string, Record<string, unknown>>, stubbed: boolean) {
    const { ctx, info, progress } = await stageContext(stage as typeof forecast, root, { split: { lookback: LOOKBACK }, ...overrides });
    const events: string[] = [];
    let clock = 0;
    const now = stubbed ? vi.spyOn(performance, 'now').mockImplementation(() => (clock += 1000)) : undefined;
    try {
      const recorded: typeof ctx = {
        ...ctx,
        info: (m) => (info.push(m), events.push(m)),
        progress: (p) => (progress.push(p), events.push(`progress ${p.done}/${p.total}`)),
      };
      await stage.run(recorded as never);
    } finally {
      now?.mockRestore();
    }
    return events;
  }
  const estimates = (events: string[]) => events.filter((e) => e.startsWith('about '));

  it('forecast: 3 models (spread_seeds 2) of 28 pairs, 6 steps of 5 an epoch, 4 epochs: 72 steps, about 72 s', async () => {
    const events = await runStage(forecast, { train: { epochs: 4, spread_seeds: 2 } }, true);
    expect(estimates(events)).toEqual(['about 72 s for 3 models of 101 weights (spread_seeds 2; set train.spread_seeds: 0 for one model)']);
    expect(events.findIndex((e) => e.startsWith('about '))).toBeLessThan(events.findIndex((e) => e.startsWith('progress')));
    // Every epoch is still reported, in order, from the first.
    expect(events.filter((e) => e.startsWith('progress'))).toEqual(Array.from({ length: 12 }, (_, i) => `progress ${i + 1}/12`));
  });

  it('forecast with spread_seeds: auto resolves it on its own pairs, says so, and records it in forecast.json', async () => {
    const events = await runStage(forecast, { train: { epochs: 1, spread_seeds: 'auto' } }, true);
    // 21 models × 6 steps = 126 s.
    expect(estimates(events)).toEqual(['about 2 min for 21 models of 101 weights (spread_seeds auto: 20; set train.spread_seeds: 0 for one model)']);
    const result = await readJson<Record<string, unknown>>(join(root, 'artifacts', 'forecast', 'forecast.json'));
    // Forecast's own pairs: all 30 days, lookback 2 → 28 (train's split would hold fewer). One pair through
    // LSTM(4) over 2 steps and back: 3 × 2 × (1 + 4) × 16 × 2 = 960 FLOP for the layer, 3 × 2 × 4 = 24 for
    // Dense(1); one epoch. Far below the 2.4 TFLOP budget: all 20 seeds.
    const gflop = ((984 * 28 * 1) / 1e9).toPrecision(3);
    expect(result.pairs).toBe(28);
    expect(result.spread_seeds).toBe(20);
    expect(result.spread_rule).toBe(`auto: 20 seeds of ${gflop} GFLOP each within the 2.4 TFLOP spread budget (at most 20)`);
    expect(result.seed_prices).toHaveLength(21);
  });

  it('forecast with a number of spread seeds records it as set', async () => {
    await runStage(forecast, { train: { epochs: 1, spread_seeds: 0 } }, false);
    const result = await readJson<Record<string, unknown>>(join(root, 'artifacts', 'forecast', 'forecast.json'));
    expect(result.spread_seeds).toBe(0);
    expect(result.spread_rule).toBe('0 as set');
  });

  it('backtest: 3 folds of 5 days train on 13, 18 and 23 pairs (3, 4 and 5 steps an epoch): 2 epochs are 24 s, said nothing; 7 epochs about 84 s', async () => {
    // Fold k's window starts (3 − k + 1)·5 days before the end: at day 15, 20, 25; its pairs are those
    // whose target lies before it, from day 2 on (lookback 2).
    const folds = { folds: 3, horizon: 5 };
    const short = await runStage(backtest, { train: { epochs: 2, spread_seeds: 0 }, backtest: folds }, true);
    expect(estimates(short)).toEqual([]);
    const events = await runStage(backtest, { train: { epochs: 7, spread_seeds: 0 }, backtest: folds }, true);
    expect(estimates(events)).toEqual(['about 84 s for 3 models of 101 weights (3 folds, one model each; set fewer backtest.folds for fewer models)']);
    expect(events.findIndex((e) => e.startsWith('about '))).toBeLessThan(events.findIndex((e) => e.startsWith('progress')));
    expect(events.filter((e) => e.startsWith('progress'))).toEqual(Array.from({ length: 21 }, (_, i) => `progress ${i + 1}/21`));
  });

  it('says nothing when the training is short', async () => {
    const events = await runStage(forecast, { train: { epochs: 2, spread_seeds: 2 } }, false);
    expect(estimates(events)).toEqual([]);
  });
});
