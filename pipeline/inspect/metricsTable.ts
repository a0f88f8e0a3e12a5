// The evaluation metrics as one table: the model beside the persistence baseline, a row per metric
// with its unit; the run's other figures (rmse_ratio, days, …) get a row of their own. Descriptive
// blocks (`units`, `notes`) are not figures: they go into the unit column or stay in the JSON.
// Numbers are rounded for people in the aligned view and the report only (CSV and JSON keep them
// whole): money to cents, percentages to 2 decimals, ratios and shares to 3, p-values as the backtest's
// verdict writes them (contract/text.ts formatP: 2 significant digits, scientific below 0.001), others to
// 4 significant digits.
import { flatten, type Leaf } from './compare.ts';
import { FormattedNumber, type Cell, type Table } from './table.ts';
import { formatP } from '../contract/text.ts';

const descriptive = new Set(['model', 'persistence', 'units', 'notes']);

/** A metric's value as people read it, by its unit (from metrics.json's `units`) and name. */
export function metricText(name: string, unit: string | undefined, value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'USD' || unit === 'percent') return value.toFixed(2);
  if (/ratio/.test(name) || /share|0\.\.1/.test(unit ?? '')) return value.toFixed(3);
  if (Number.isInteger(value)) return String(value);
  if (/p_value/.test(name)) return formatP(value);
  return significant(value, 4);
}

/** `digits` significant digits, never in exponent form and never dropping integer digits (12346, 1.235, 0.0001235). */
function significant(value: number, digits: number): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value))) + 1;
  const decimals = Math.min(20, Math.max(0, digits - magnitude));
  const text = value.toFixed(decimals);
  return decimals > 0 ? text.replace(/\.?0+$/, '') : text;
}

/** The unit of a figure: its own entry in `units`, or that of the metric it scores (model.rmse → rmse). */
export function unitOf(units: ReadonlyMap<string, Leaf>, key: string): string | undefined {
  const unit = units.get(key) ?? units.get(key.replace(/^(model|persistence)\./, ''));
  return typeof unit === 'string' ? unit : undefined;
}

/** A number cell rounded for reading, exact in CSV and JSON; other cells as they are. */
export function metricCell(name: string, unit: string | undefined, value: Leaf | undefined): Cell {
  return typeof value === 'number' ? new FormattedNumber(value, metricText(name, unit, value)) : (value ?? null);
}

export function metricsTableRows(metrics: unknown): Cell[][] {
  const record = (metrics ?? {}) as Record<string, unknown>;
  const model = flatten(record.model);
  const persistence = flatten(record.persistence);
  const units = flatten(record.units);
  const names = [...model.keys(), ...[...persistence.keys()].filter((k) => !model.has(k))];
  const rows: Cell[][] = names.map((name) => {
    const unit = unitOf(units, name);
    return [name, metricCell(name, unit, model.get(name)), metricCell(name, unit, persistence.get(name)), unit ?? null];
  });
  // A figure the run did not produce (seed_spread: null without train.spread_seeds) is no row, not a
  // blank one; the diff (metricFigures) still compares it.
  const rest = Object.fromEntries(Object.entries(record).filter(([k, v]) => !descriptive.has(k) && v !== null));
  for (const [name, value] of flatten(rest)) rows.push([name, metricCell(name, unitOf(units, name), value), null, unitOf(units, name) ?? null]);
  return rows;
}

export function metricsTable(metrics: unknown): Table {
  return { columns: ['metric', 'model', 'persistence', 'unit'], rows: metricsTableRows(metrics), nullText: '' };
}

/** The figures of a metrics.json keyed by dotted path, without the descriptive blocks: what a diff compares. */
export function metricFigures(metrics: unknown): Map<string, Leaf> {
  const record = (metrics ?? {}) as Record<string, unknown>;
  return flatten(Object.fromEntries(Object.entries(record).filter(([k]) => k !== 'units' && k !== 'notes')));
}
