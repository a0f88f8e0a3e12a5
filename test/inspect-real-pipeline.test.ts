// The inspecting commands on a real, finished pipeline: the runner and the real stages on a tiny
// configuration (70 days, 10 test days, 2 epochs). Expected figures are recomputed here from the
// Arrow files with apache-arrow, never taken from the commands' own output.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { arrowFiles } from './data-helpers.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-inspect-real-'));
  await mkdir(join(root, 'data'));
  await copyFile(join(repo, 'data', 'btc-usd-daily.csv'), join(root, 'data', 'btc-usd-daily.csv'));
  // Its own configuration, not the repository's: 70 sampled days, 10 test days, 2 epochs.
  await writeFile(
    join(root, 'pipeline.yaml'),
    `stages:
  sample:    { days: 70, seed: 7 }
  ingest:    { source: sample }
  aggregate: { gaps: ffill }
  scale:     {}
  split:     { test_days: 10, lookback: 1 }
  train:     { units: 4, layers: 1, activation: sigmoid, dropout: 0, epochs: 2, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42 }
  evaluate:  {}
  forecast:  {}
  backtest:  { folds: 2, horizon: 10 }
`,
  );
  const run = await runCli(['run'], root);
  if (run.code !== 0) throw new Error(`pipeline run failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

async function arrow(path: string) {
  return tableFromIPC(await readFile(join(root, 'artifacts', path)));
}

function numbers(table: Awaited<ReturnType<typeof arrow>>, name: string): number[] {
  return [...table.getChild(name)!].map((v) => Number(v));
}

describe('inspect, query and metrics after a real run', () => {
  test('every artifact is listed fresh, with the row counts of the files', async () => {
    const listed = JSON.parse((await runCli(['inspect', '--json'], root)).stdout) as { stage: string; file: string; rows: number | null; fresh: boolean; exists: boolean }[];
    expect(listed.every((a) => a.exists && a.fresh)).toBe(true);
    const daily = await arrow('aggregate/daily.arrow');
    expect(listed.find((a) => a.file === 'daily.arrow')!.rows).toBe(daily.numRows);
    expect(daily.numRows).toBe(70);
    // minutes.arrow is a folder of monthly files: its row count is theirs together.
    let minutes = 0;
    for (const file of await arrowFiles(join(root, 'artifacts', 'ingest', 'minutes.arrow'))) minutes += tableFromIPC(await readFile(file)).numRows;
    expect(minutes).toBe(70 * 1440);
    expect(listed.find((a) => a.file === 'minutes.arrow')!.rows).toBe(minutes);
  });

  test('inspect aggregate/daily agrees with a mean computed from the file', async () => {
    const detail = JSON.parse((await runCli(['inspect', 'aggregate/daily', '--json'], root)).stdout) as {
      stats: { name: string; min: number; max: number; mean: number; nulls: number }[];
    };
    const prices = numbers(await arrow('aggregate/daily.arrow'), 'price');
    const price = detail.stats.find((s) => s.name === 'price')!;
    expect(price.min).toBe(Math.min(...prices));
    expect(price.max).toBe(Math.max(...prices));
    expect(price.mean).toBeCloseTo(prices.reduce((a, b) => a + b, 0) / prices.length, 6);
  });

  test('SQL over the minutes reproduces the daily mean price per UTC day', async () => {
    const { code, stdout } = await runCli(
      [
        'query',
        `SELECT d.date, d.price, m.mean_price
           FROM aggregate.daily d
           JOIN (SELECT CAST(timestamp AS DATE) AS date, avg(weighted_price) AS mean_price FROM ingest.minutes GROUP BY 1) m USING (date)
          ORDER BY d.date`,
        '--json',
      ],
      root,
    );
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { date: string; price: number; mean_price: number }[];
    expect(rows).toHaveLength(70);
    for (const row of rows) expect(row.mean_price).toBeCloseTo(row.price, 6);
  });

  test('metrics shows the RMSE of the predictions file for model and persistence', async () => {
    const predictions = await arrow('evaluate/predictions.arrow');
    const real = numbers(predictions, 'real');
    const rmse = (forecast: number[]) => Math.sqrt(forecast.reduce((s, f, i) => s + (f - real[i]!) ** 2, 0) / real.length);
    const { metrics } = JSON.parse((await runCli(['metrics', '--json'], root)).stdout) as {
      metrics: { model: { rmse: number }; persistence: { rmse: number }; rmse_ratio: number };
    };
    expect(metrics.model.rmse).toBeCloseTo(rmse(numbers(predictions, 'predicted')), 6);
    expect(metrics.persistence.rmse).toBeCloseTo(rmse(numbers(predictions, 'persistence')), 6);
    const csv = (await runCli(['metrics', '--csv'], root)).stdout;
    expect(csv).toContain(`rmse,${metrics.model.rmse},${metrics.persistence.rmse},`);
  });

  test('after a config edit, the affected artifacts say they are stale and why', async () => {
    const config = join(root, 'pipeline.yaml');
    const before = await readFile(config, 'utf8');
    await writeFile(config, before.replace('epochs: 2', 'epochs: 3'));
    try {
      const { code, stderr, stdout } = await runCli(['inspect', 'train/history', '--json'], root);
      expect(code).toBe(0);
      expect(stderr).toMatch(/^warning: train is stale \(.*epochs 2 → 3.*\)/);
      expect(JSON.parse(stdout)).toMatchObject({ fresh: false });
      const daily = JSON.parse((await runCli(['inspect', 'aggregate/daily', '--json'], root)).stdout) as { fresh: boolean };
      expect(daily.fresh).toBe(true);
      const params = JSON.parse((await runCli(['params', 'diff', '--json'], root)).stdout) as { diff: unknown[] };
      // The forecast and the backtest train the train config too.
      expect(params.diff).toEqual([
        { key: 'train.epochs', old: 2, new: 3, change: 1 },
        { key: 'forecast.train.epochs', old: 2, new: 3, change: 1 },
        { key: 'backtest.train.epochs', old: 2, new: 3, change: 1 },
      ]);
    } finally {
      await writeFile(config, before);
    }
  });

  test('metrics shows the forecast beside the last price and the backtest beside persistence', async () => {
    const forecast = JSON.parse(await readFile(join(root, 'artifacts', 'forecast', 'forecast.json'), 'utf8')) as { price: number; last_price: number };
    const backtest = await arrow('backtest/predictions.arrow');
    const real = numbers(backtest, 'real');
    const rmse = (column: string) => Math.sqrt(numbers(backtest, column).reduce((s, f, i) => s + (f - real[i]!) ** 2, 0) / real.length);
    const json = JSON.parse((await runCli(['metrics', '--json'], root)).stdout) as {
      forecast: { price: number; fresh: boolean };
      backtest: { pooled: { model: { rmse: number }; persistence: { rmse: number }; days: number }; fresh: boolean };
    };
    expect(json.forecast).toMatchObject({ price: forecast.price, fresh: true });
    expect(json.backtest.fresh).toBe(true);
    expect(json.backtest.pooled.days).toBe(20);
    expect(json.backtest.pooled.model.rmse).toBeCloseTo(rmse('predicted'), 6);
    expect(json.backtest.pooled.persistence.rmse).toBeCloseTo(rmse('persistence'), 6);
    const csv = (await runCli(['metrics', '--csv'], root)).stdout;
    expect(csv).toContain(`forecast.price,${forecast.price},${forecast.last_price},USD\n`);
    expect(csv).toContain(`backtest.rmse,${json.backtest.pooled.model.rmse},${json.backtest.pooled.persistence.rmse},USD\n`);
  });

  test('the report of a real run opens with the forecast and carries its timings, both charts and the backtest', async () => {
    expect((await runCli(['report'], root)).code).toBe(0);
    const html = await readFile(join(root, 'artifacts', 'report.html'), 'utf8');
    expect(html).toMatch(/<p id="fresh-banner">/);
    // prediction, loss and the backtest's chart.
    expect(html.match(/<img class="chart"/g)).toHaveLength(3);
    const forecast = JSON.parse(await readFile(join(root, 'artifacts', 'forecast', 'forecast.json'), 'utf8')) as { date: string };
    expect(html.indexOf(`<p id="forecast" class="forecast"><b>${forecast.date}:`)).toBeGreaterThan(0);
    expect(html.indexOf('id="forecast"')).toBeLessThan(html.indexOf('<h2>Freshness</h2>'));
    expect(html.match(/<table id="backtest-folds">[\s\S]*?<\/table>/)![0].match(/<tr>/g)).toHaveLength(1 + 2);
    const timings = JSON.parse(await readFile(join(root, 'artifacts', '.cache', 'timings.json'), 'utf8')) as { stages: Record<string, { seconds: number }> };
    const trainDuration = timings.stages.train?.seconds;
    expect(trainDuration).toBeDefined();
    expect(html).toMatch(new RegExp(`<td>train</td><td class="num">${Number(Number(trainDuration).toFixed(2))}</td>`));
  });
});
