// `pipeline report`: one self-contained HTML page of a finished run. Everything is inlined — styles,
// and the charts as data: URIs — so the file opens from disk with no server and no network. Charts go
// in as <img> rather than inline <svg>: two Vega SVGs in one document would share ids (clip paths,
// gradients) and draw each other's clips.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArtifactError } from './artifacts.ts';
import type { Lock } from '../runner/lock.ts';
import type { Timings } from '../runner/timings.ts';
import { setValue, type ParamProvenance } from './provenance.ts';
import type { FreshnessByStage } from './inspect.ts';
import { flatten } from './compare.ts';
import { metricCell, metricsTableRows, metricText } from './metricsTable.ts';
import { FormattedNumber, readableNumber } from './table.ts';
import { forecastLine, type Backtest, type Forecast } from './forecast.ts';

export interface ReportInputs {
  readonly title: string;
  /** Active stages in run order. */
  readonly stages: readonly { readonly name: string; readonly description: string }[];
  /** Every stage's params: the values its artifacts were made with (pipeline.lock) and the current ones. */
  readonly params: readonly ParamProvenance[];
  readonly lock: Lock | undefined;
  /** Machine-local stage timings (artifacts/.cache/timings.json). */
  readonly timings: Timings;
  readonly freshness: FreshnessByStage;
  readonly dataSummary: DataSummary | undefined;
  readonly metrics: unknown;
  readonly charts: readonly Chart[];
  readonly modelSummary: string | undefined;
  /** artifacts/forecast/forecast.json; null when the stage has not written it, undefined when it is not
   *  part of the pipeline. */
  readonly forecast?: Forecast | null;
  /** artifacts/backtest/metrics.json (null and undefined likewise) and its chart. */
  readonly backtest?: Backtest | null;
  readonly backtestChart?: Chart;
}

export interface DataSummary {
  readonly days?: number;
  readonly first_date?: string;
  readonly last_date?: string;
  readonly gap_count?: number;
  readonly gap_days?: readonly string[];
  readonly [key: string]: unknown;
}

export interface Chart {
  readonly title: string;
  /** Artifact path shown under the chart. */
  readonly source: string;
  /** A data: URI, or undefined when the chart has not been drawn yet. */
  readonly dataUri: string | undefined;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '<td class="none">—</td>';
  if (value instanceof FormattedNumber) return `<td class="num">${escapeHtml(value.text)}</td>`;
  if (typeof value === 'number') return `<td class="num">${escapeHtml(readableNumber(value))}</td>`;
  if (typeof value === 'string') return `<td>${escapeHtml(value)}</td>`;
  return `<td>${escapeHtml(JSON.stringify(value))}</td>`;
}

function table(id: string, headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function missing(what: string, stage: string): string {
  return `<p class="missing">${escapeHtml(what)} not produced yet — <code>pipeline run ${escapeHtml(stage)}</code> makes it.</p>`;
}

const style = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6678; --line: #d9dee7; --accent: #2f6fb0; --warn: #9a5b00; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 24px 28px 64px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.lead { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f4f6fa; } td.num { text-align: right; } td.none { color: var(--muted); }
.fresh { color: #1d7a3a; font-weight: 600; } .stale { color: var(--warn); font-weight: 600; }
.banner { border: 1px solid #f0c36d; background: #fff8e6; padding: 8px 12px; border-radius: 6px; }
.charts { display: grid; grid-template-columns: 1fr; gap: 20px; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
figcaption { color: var(--muted); font-size: 13px; }
pre { background: #f4f6fa; padding: 12px; border-radius: 6px; overflow-x: auto; font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
p.forecast { font-size: 17px; } p.muted { color: var(--muted); margin-top: 0; }
.missing { color: var(--warn); } ul.notes { color: var(--muted); font-size: 13px; } code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; } dt { color: var(--muted); } dd { margin: 0; }
`;

function freshnessSection(inputs: ReportInputs): string {
  const rows = inputs.stages.map((s) => {
    const f = inputs.freshness.get(s.name);
    const status = f?.fresh ? '<span class="fresh">fresh</span>' : '<span class="stale">stale</span>';
    return `<tr><td>${escapeHtml(s.name)}</td><td>${status}</td><td>${escapeHtml(f?.fresh ? '' : (f?.reasons ?? ['status unknown']).join('; '))}</td></tr>`;
  });
  const stale = inputs.stages.filter((s) => !inputs.freshness.get(s.name)?.fresh).map((s) => s.name);
  const banner = stale.length
    ? `<p class="banner" id="stale-banner">Stale: ${escapeHtml(stale.join(', '))}. Their artifacts below do not reflect the current configuration, code or inputs (the reasons are in the table; the parameters they were made with under Configuration); <code>pipeline run</code> brings them up to date.</p>`
    : '<p id="fresh-banner">Every stage is fresh: the figures below are those of the current configuration.</p>';
  return `${banner}\n<table id="freshness"><thead><tr><th>stage</th><th>status</th><th>why</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function dataSection(summary: DataSummary | undefined): string {
  if (!summary) return missing('The data summary (artifacts/aggregate/report.json) is', 'aggregate');
  const gaps = summary.gap_days ?? [];
  const shown = gaps.slice(0, 12).join(', ') + (gaps.length > 12 ? `, … (${gaps.length - 12} more)` : '');
  const item = (label: string, value: unknown) =>
    `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value === undefined || value === null ? '—' : String(value))}</dd>`;
  return `<dl id="data-summary">${item('days', summary.days)}${item('first day', summary.first_date)}${item('last day', summary.last_date)}${item('days without trades', summary.gap_count)}${gaps.length ? item('gap days', shown) : ''}</dl>`;
}

function metricsSection(metrics: unknown): string {
  if (metrics === undefined) return missing('The metrics (artifacts/evaluate/metrics.json) are', 'evaluate');
  const record = metrics as Record<string, unknown>;
  const ratio = typeof record.rmse_ratio === 'number' ? record.rmse_ratio : undefined;
  const note =
    ratio === undefined
      ? ''
      : `<p id="verdict">RMSE ratio ${escapeHtml(metricText('rmse_ratio', undefined, ratio))}: the model's error is ${escapeHtml((ratio * 100).toFixed(1))}% of the persistence baseline's ("tomorrow's price = today's"), so it ${ratio < 1 ? 'beats' : 'does not beat'} that baseline on the test days.</p>`;
  const spread = record.seed_spread as Record<string, unknown> | null | undefined;
  const spreadNote =
    spread && typeof spread.seeds === 'number' && typeof spread.rmse_ratio_median === 'number' && typeof spread.beats_persistence === 'number'
      ? `<p id="seed-spread">Trained from ${escapeHtml(String(spread.seeds))} seeds, the same config gives a median RMSE ratio of ${escapeHtml(metricText('rmse_ratio', undefined, spread.rmse_ratio_median))} (${escapeHtml(metricText('rmse_ratio', undefined, Number(spread.rmse_ratio_min)))} to ${escapeHtml(metricText('rmse_ratio', undefined, Number(spread.rmse_ratio_max)))}); ${escapeHtml(String(Math.round(spread.beats_persistence * spread.seeds)))} of them beat the baseline. Per seed: <code>pipeline query "SELECT * FROM evaluate.seeds"</code>.</p>`
      : '';
  const notes = flatten(record.notes);
  const noteList = notes.size
    ? `<ul class="notes">${[...notes].map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ${escapeHtml(String(v))}</li>`).join('')}</ul>`
    : '';
  return table('metrics', ['metric', 'model', 'persistence', 'unit'], metricsTableRows(metrics)) + note + spreadNote + noteList;
}

const usd = (value: number) => `${Math.round(value).toLocaleString('en-US')} USD`;
const signed = (value: number, text: string) => `${value >= 0 ? '+' : '−'}${text}`;

/** The page's opening: tomorrow's forecast, and what the backtest says of the model that made it. */
function forecastSection(inputs: ReportInputs): string {
  const f = inputs.forecast;
  const b = inputs.backtest;
  const parts: string[] = [];
  if (f) {
    const seeds =
      f.seed_min !== undefined && f.seed_max !== undefined
        ? ` The same config from other seeds forecasts ${escapeHtml(usd(f.seed_min))} to ${escapeHtml(usd(f.seed_max))} (median ${escapeHtml(usd(f.seed_median ?? Number.NaN))}).`
        : '';
    parts.push(
      `<p id="forecast" class="forecast"><b>${escapeHtml(f.date)}: ${escapeHtml(usd(f.price))}</b> — the last day, ${escapeHtml(f.last_date)}, was ${escapeHtml(usd(f.last_price))} ` +
        `(change ${escapeHtml(signed(f.change, usd(Math.abs(f.change))))}, ${escapeHtml(signed(f.change_pct, `${Math.abs(f.change_pct).toFixed(2)}%`))}).${seeds} ` +
        `Trained on ${escapeHtml(String(f.pairs))} pairs (${escapeHtml(f.trained_from)} .. ${escapeHtml(f.trained_to)}), seed ${escapeHtml(String(f.seed))}` +
        `${f.target === 'log_return' ? ', predicting the daily log return (the last price times exp of it)' : ''}.</p>`,
    );
    parts.push(`<p class="muted"><code>${escapeHtml(forecastLine(f))}</code></p>`);
  } else {
    parts.push(missing('The forecast (artifacts/forecast/forecast.json) is', 'forecast'));
  }
  if (b) {
    const worse = b.pooled.rmse_ratio > 1 && b.diebold_mariano.p_value !== null && b.diebold_mariano.p_value < 0.05;
    const persistence = f ? ` Persistence's forecast is the last price, ${escapeHtml(usd(f.last_price))}.` : '';
    parts.push(
      worse
        ? `<p class="banner" id="backtest-verdict"><b>The model is significantly worse than "tomorrow = today".</b> Walk-forward backtest: ${escapeHtml(b.verdict)}.${persistence}</p>`
        : `<p id="backtest-verdict">Walk-forward backtest: ${escapeHtml(b.verdict)}.</p>`,
    );
  }
  return parts.join('\n');
}

function backtestSection(inputs: ReportInputs): string {
  const b = inputs.backtest;
  if (!b) return missing('The backtest (artifacts/backtest/metrics.json) is', 'backtest');
  const chart = inputs.backtestChart?.dataUri
    ? `<figure><img class="chart" alt="${escapeHtml(inputs.backtestChart.title)}" src="${inputs.backtestChart.dataUri}"><figcaption>${escapeHtml(inputs.backtestChart.title)} — ${escapeHtml(inputs.backtestChart.source)}</figcaption></figure>`
    : missing('The backtest chart is', 'backtest');
  const folds = table(
    'backtest-folds',
    ['fold', 'from', 'to', 'model RMSE (USD)', 'persistence RMSE (USD)', 'RMSE ratio'],
    b.folds.map((f) => [f.fold, f.from, f.to, metricCell('rmse', 'USD', f.model_rmse), metricCell('rmse', 'USD', f.persistence_rmse), metricCell('rmse_ratio', undefined, f.rmse_ratio)]),
  );
  const dm = b.diebold_mariano;
  const pooled = table(
    'backtest-pooled',
    ['over all folds', 'model', 'persistence', 'unit'],
    [
      ['days', b.pooled.days, null, null],
      ['RMSE', metricCell('rmse', 'USD', b.pooled.model.rmse), metricCell('rmse', 'USD', b.pooled.persistence.rmse), 'USD'],
      ['MAE', metricCell('mae', 'USD', b.pooled.model.mae), metricCell('mae', 'USD', b.pooled.persistence.mae), 'USD'],
      ['MAPE', metricCell('mape', 'percent', b.pooled.model.mape), metricCell('mape', 'percent', b.pooled.persistence.mape), 'percent'],
      ['directional accuracy', metricCell('directional_accuracy', 'share of days, 0..1', b.pooled.model.directional_accuracy), null, 'share of days'],
      ['up days', metricCell('up_days_share', 'share of days, 0..1', b.pooled.up_days_share), null, 'share of days'],
      ['RMSE ratio', metricCell('rmse_ratio', undefined, b.pooled.rmse_ratio), null, null],
      ['Diebold–Mariano statistic', metricCell('statistic', undefined, dm.statistic), null, null],
      ['Diebold–Mariano p', metricCell('p_value', undefined, dm.p_value), null, 'two-sided'],
    ],
  );
  const target = b.target === undefined ? '' : ` (target: ${escapeHtml(b.target === 'log_return' ? 'daily log return' : 'price')})`;
  return `<p id="backtest-sentence">${escapeHtml(b.verdict.charAt(0).toUpperCase() + b.verdict.slice(1))}${target}.</p>\n${chart}\n${folds}\n${pooled}`;
}

function chartsSection(charts: readonly Chart[]): string {
  const figures = charts.map((c) =>
    c.dataUri
      ? `<figure><img class="chart" alt="${escapeHtml(c.title)}" src="${c.dataUri}"><figcaption>${escapeHtml(c.title)} — ${escapeHtml(c.source)}</figcaption></figure>`
      : `<figure>${missing(`${c.title} (${c.source}) is`, 'evaluate')}</figure>`,
  );
  return `<div class="charts">${figures.join('\n')}</div>`;
}

/** The parameters each stage's artifacts were made with (from pipeline.lock); edits not run yet apart. */
function configSection(inputs: ReportInputs): string {
  const rows = inputs.stages.flatMap((s) => {
    const params = inputs.params.filter((p) => p.stage === s.name);
    if (params.length === 0) return [[s.name, '(no parameters)', null, null]];
    return params.map((p) => {
      const ran = p.made !== undefined || inputs.lock?.stages[s.name] !== undefined;
      const pending = p.pending ? p.now : ran ? null : `${setValue(p.now)} (not run yet)`;
      return [s.name, p.key, ran ? (p.made ?? null) : null, pending];
    });
  });
  const edits = inputs.params.filter((p) => p.pending);
  const note = edits.length
    ? `<p class="banner" id="pending-edits">Edits not run yet: ${escapeHtml(
        edits.map((p) => `${p.name} ${setValue(p.made)} → ${setValue(p.now)}`).join(', '),
      )}. Everything in this report was made with the values in the "value" column; <code>pipeline run</code> applies the edits.</p>\n`
    : '';
  return note + table('config', ['stage', 'parameter', 'value (made the artifacts)', 'pending edit (not run yet)'], rows);
}

function timingSection(inputs: ReportInputs): string {
  const timed = inputs.stages.filter((s) => inputs.timings[s.name] !== undefined);
  if (timed.length === 0) {
    return '<p class="missing">No stage timings on this machine yet: <code>pipeline run</code> records them in artifacts/.cache/timings.json.</p>';
  }
  let total = 0;
  const rows = inputs.stages.map((s) => {
    const timing = inputs.timings[s.name];
    if (timing) total += timing.seconds;
    return [s.name, timing ? Number(timing.seconds.toFixed(2)) : null, timing ? `${timing.finished}${timing.restored ? ' (restored from the run cache)' : ''}` : null];
  });
  rows.push(['total', Number(total.toFixed(2)), null]);
  return `${table('timings', ['stage', 'seconds', 'finished (UTC)'], rows)}\n<p class="lead">Timings of the runs on this machine (artifacts/.cache/timings.json; never in pipeline.lock).</p>`;
}

export function renderReport(inputs: ReportInputs): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(inputs.title)}</title>
<style>${style}</style>
</head>
<body>
<h1>${escapeHtml(inputs.title)}</h1>
<p class="lead">Daily mean of Bitstamp's 1-minute weighted price, an LSTM forecaster of the next day, and the persistence baseline it has to beat.</p>
${inputs.forecast !== undefined || inputs.backtest !== undefined ? `<h2>Tomorrow's forecast</h2>\n${forecastSection(inputs)}\n` : ''}<h2>Freshness</h2>
${freshnessSection(inputs)}
<h2>Data</h2>
${dataSection(inputs.dataSummary)}
<h2>Metrics</h2>
${metricsSection(inputs.metrics)}
${inputs.backtest !== undefined ? `<h2>Backtest</h2>\n${backtestSection(inputs)}\n` : ''}<h2>Charts</h2>
${chartsSection(inputs.charts)}
<h2>Model</h2>
${inputs.modelSummary === undefined ? missing('The model summary (artifacts/train/summary.txt) is', 'train') : `<pre id="model-summary">${escapeHtml(inputs.modelSummary)}</pre>`}
<h2>Configuration</h2>
${configSection(inputs)}
<h2>Stage timings</h2>
${timingSection(inputs)}
</body>
</html>
`;
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** The chart as a data: URI, preferring the SVG (sharp at any zoom) over the PNG. */
export async function chartUri(artifactsDir: string, stage: string, name: string): Promise<{ uri: string | undefined; source: string }> {
  const svg = await readOptional(join(artifactsDir, stage, `${name}.svg`));
  if (svg) return { uri: `data:image/svg+xml;base64,${svg.toString('base64')}`, source: `artifacts/${stage}/${name}.svg` };
  const png = await readOptional(join(artifactsDir, stage, `${name}.png`));
  if (png) return { uri: `data:image/png;base64,${png.toString('base64')}`, source: `artifacts/${stage}/${name}.png` };
  return { uri: undefined, source: `artifacts/${stage}/${name}.svg` };
}

export async function readJsonOptional(path: string): Promise<unknown> {
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text.toString('utf8')) as unknown;
  } catch (error) {
    // A damaged file is not a missing one: the report would claim the stage never ran.
    throw new ArtifactError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** Writes next to the target and renames, so a reader never sees half a page; on any error the temp
 *  file is removed again. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
}
