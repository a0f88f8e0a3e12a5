// The evaluation charts as Vega-Lite specs, compiled to Vega and rendered headless to SVG
// (renderer 'none': no DOM, no canvas), then to PNG by resvg.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { SANS, svgToPng } from './render.ts';

export interface Chart {
  readonly svg: string;
  readonly png: Uint8Array;
}

export interface PredictionPoint {
  /** The day predicted, YYYY-MM-DD (UTC). */
  readonly date: string;
  readonly real: number;
  readonly predicted: number;
  readonly persistence: number;
}

const SERIES = ['real', 'predicted', 'persistence (yesterday)'] as const;

const config = {
  font: SANS,
  title: { fontSize: 16 },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};

/** Vega's and Vega-Lite's messages go to `warn` (stages never print); a failed render still rejects. */
function loggerTo(warn: (message: string) => void): vega.LoggerInterface {
  const logger: vega.LoggerInterface = {
    level: () => vega.Warn,
    error: (...args: unknown[]) => {
      warn(`error: ${args.map(String).join(' ')}`);
      return logger;
    },
    warn: (...args: unknown[]) => {
      warn(args.map(String).join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

export async function renderSpec(spec: TopLevelSpec, warn: (message: string) => void = () => {}): Promise<Chart> {
  const logger = loggerTo(warn);
  const compiled = compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    return { svg, png: svgToPng(svg) };
  } finally {
    view.finalize();
  }
}

/** USD on the y axis, one line per series: real (blue), predicted (red), persistence (grey, dashed). */
const seriesEncoding = {
  y: { field: 'usd', type: 'quantitative', scale: { zero: false }, title: 'Price (USD)', axis: { format: ',.0f' } },
  color: {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: [...SERIES], range: ['#1f4e9c', '#e4572e', '#a0a0a0'] },
    legend: { orient: 'top-left', labelLimit: 320 },
  },
  strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: [...SERIES], range: [[1, 0], [1, 0], [5, 4]] } },
} as const;

/** Real vs predicted USD by date; each prediction sits on the day it predicts. */
export function predictionSpec(points: readonly PredictionPoint[]): TopLevelSpec {
  const values = points.flatMap((p) => [
    { date: p.date, series: SERIES[0], usd: p.real },
    { date: p.date, series: SERIES[1], usd: p.predicted },
    { date: p.date, series: SERIES[2], usd: p.persistence },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'BTC Price Prediction',
    width: 720,
    height: 360,
    background: 'white',
    config,
    data: { values },
    mark: { type: 'line', point: { size: 30 }, strokeWidth: 2 },
    encoding: {
      // UTC scale: the axis shows the dates as stored, whatever the machine's time zone. Ticks at
      // least a day apart: with a few test days vega would tick every 6-12 h and repeat each date.
      x: {
        field: 'date',
        type: 'temporal',
        scale: { type: 'utc' },
        title: 'Date (UTC)',
        axis: { format: '%Y-%m-%d', labelAngle: -40, tickMinStep: 86_400_000 },
      },
      ...seriesEncoding,
    },
  };
}

export function lossSpec(loss: readonly number[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Training loss (MSE on scaled prices)',
    width: 560,
    height: 300,
    background: 'white',
    config,
    data: { values: loss.map((value, i) => ({ epoch: i + 1, loss: value })) },
    mark: { type: 'line', point: { size: 30 }, color: '#1f4e9c' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { domainMin: 1 } },
      y: { field: 'loss', type: 'quantitative', title: 'Loss', scale: { type: 'log' } },
    },
  };
}

export interface FoldRatio {
  readonly fold: number;
  /** First and last day of the fold's window, YYYY-MM-DD (UTC). */
  readonly from: string;
  readonly to: string;
  readonly rmse_ratio: number;
}

/**
 * The backtest: real, predicted and persistence over every fold's window (each forecast on the day it
 * predicts), the windows' boundaries as dotted lines, and below it each fold's RMSE ratio against the
 * line at 1 (below it the model beat persistence in that window).
 */
export function backtestSpec(points: readonly PredictionPoint[], folds: readonly FoldRatio[]): TopLevelSpec {
  const values = points.flatMap((p) => [
    { date: p.date, series: SERIES[0], usd: p.real },
    { date: p.date, series: SERIES[1], usd: p.predicted },
    { date: p.date, series: SERIES[2], usd: p.persistence },
  ]);
  const x = { field: 'date', type: 'temporal', scale: { type: 'utc' }, title: 'Date (UTC)', axis: { format: '%Y-%m-%d', labelAngle: -40, tickMinStep: 86_400_000 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Walk-forward backtest: ${folds.length} folds, one-step-ahead`,
    background: 'white',
    config,
    // The prices' series colours and the folds' better/worse colours are separate scales.
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
    vconcat: [
      {
        width: 760,
        height: 320,
        layer: [
          {
            data: { values },
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x,
              ...seriesEncoding,
            },
          },
          {
            // Where one fold's window ends and the next begins: half a day before the next one's first day.
            data: { values: folds.slice(1).map((f) => ({ date: new Date(Date.parse(f.from) - 43_200_000).toISOString(), fold: f.fold, from: f.from })) },
            mark: { type: 'rule', color: '#888', strokeDash: [2, 3] },
            encoding: {
              x: { field: 'date', type: 'temporal', title: 'Date (UTC)' },
              tooltip: [
                { field: 'fold', title: 'fold' },
                { field: 'from', title: 'starts' },
              ],
            },
          },
        ],
      },
      {
        width: 760,
        height: 160,
        title: { text: 'RMSE ratio per fold (model / persistence; below 1: the model was better)', fontSize: 12 },
        layer: [
          {
            data: { values: folds.map((f) => ({ ...f, better: f.rmse_ratio < 1 ? 'model' : 'persistence' })) },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'fold', type: 'ordinal', title: 'Fold', axis: { labelAngle: 0 } },
              // Each bar grows from the line at 1, up (persistence better) or down (the model better).
              y: { field: 'rmse_ratio', type: 'quantitative', title: 'RMSE ratio', scale: { zero: false } },
              y2: { datum: 1 },
              color: { field: 'better', type: 'nominal', title: 'better', scale: { domain: ['model', 'persistence'], range: ['#2e8b57', '#c0504d'] } },
              tooltip: [{ field: 'from' }, { field: 'to' }, { field: 'rmse_ratio', format: '.3f' }],
            },
          },
          {
            data: { values: [{ one: 1 }] },
            mark: { type: 'rule', color: '#333', strokeDash: [4, 3] },
            encoding: { y: { field: 'one', type: 'quantitative' } },
          },
        ],
      },
    ],
  };
}
