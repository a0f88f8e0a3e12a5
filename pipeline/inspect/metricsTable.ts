// The evaluation metrics as one table: the model beside the persistence baseline, a row per metric
// with its unit; the run's other figures (rmse_ratio, days, …) get a row of their own. Descriptive
// blocks (`units`, `notes`) are not figures: they go into the unit column or stay in the JSON.
import { flatten, type Leaf } from './compare.ts';
import type { Cell, Table } from './table.ts';

const descriptive = new Set(['model', 'persistence', 'units', 'notes']);

export function metricsTableRows(metrics: unknown): Cell[][] {
  const record = (metrics ?? {}) as Record<string, unknown>;
  const model = flatten(record.model);
  const persistence = flatten(record.persistence);
  const units = flatten(record.units);
  const names = [...model.keys(), ...[...persistence.keys()].filter((k) => !model.has(k))];
  const rows: Cell[][] = names.map((name) => [name, model.get(name) ?? null, persistence.get(name) ?? null, units.get(name) ?? null]);
  // A figure the run did not produce (seed_spread: null without train.spread_seeds) is no row, not a
  // blank one; the diff (metricFigures) still compares it.
  const rest = Object.fromEntries(Object.entries(record).filter(([k, v]) => !descriptive.has(k) && v !== null));
  for (const [name, value] of flatten(rest)) rows.push([name, value, null, units.get(name) ?? null]);
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
