// `pipeline metrics [--diff [REV]]`: the evaluation metrics, model against the persistence baseline;
// with --diff, against the metrics recorded at a git revision (default HEAD) or the previous run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaselineMissing, diffLeaves, flatten, METRIC_TOLERANCE, METRICS_OUTPUT, metricsBaseline, type DiffRow } from '../../inspect/compare.ts';
import { CommandFailure, guarded, openInspection, setOption, staleWarning, warn } from '../inspection.ts';
import { metricCell, metricFigures, metricsTable, unitOf } from '../../inspect/metricsTable.ts';
import { formatTable, outputFormat, toJson, type Table } from '../../inspect/table.ts';
import { backtestRows, forecastRows, readBacktest, readForecast } from '../../inspect/forecast.ts';
import { defineCommand } from '../command.ts';

interface MetricsArgs {
  diff?: string;
  all?: boolean;
  json?: boolean;
  csv?: boolean;
  config?: string;
  set?: string[];
}

/** The diff as a table; numbers rounded for reading by the unit of their metric (in `metrics`, the current metrics.json). */
export function diffTable(rows: readonly DiffRow[], metrics?: unknown): Table {
  const units = flatten((metrics as { units?: unknown } | null | undefined)?.units);
  return {
    columns: ['metric', 'old', 'new', 'change'],
    rows: rows.map((r) => {
      const unit = unitOf(units, r.key);
      return [r.key, metricCell(r.key, unit, r.old), metricCell(r.key, unit, r.new), metricCell(r.key, unit, r.change ?? undefined)];
    }),
    nullText: '',
  };
}

export const metricsCommand = defineCommand<MetricsArgs>({
  command: 'metrics',
  describe: 'the evaluation metrics, model beside the persistence baseline; --diff [REV] against git REV (default HEAD) or the previous run',
  builder: (y) =>
    y
      .option('diff', { type: 'string', describe: 'compare with the metrics recorded in pipeline.lock at REV (default HEAD)' })
      .option('all', { type: 'boolean', describe: 'with --diff: list unchanged metrics too' })
      .option('set', setOption)
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('csv', { type: 'boolean', describe: 'print CSV' }) as never,
  async run(args, io) {
    return guarded(io, 'metrics', async () => {
      const inspection = await openInspection(args, io);
      const { project, freshness } = inspection;
      const path = join(project.root, METRICS_OUTPUT);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        throw new CommandFailure(`${METRICS_OUTPUT} does not exist yet; "pipeline run" produces it`, 1);
      }
      let metrics: unknown;
      try {
        metrics = JSON.parse(text) as unknown;
      } catch (error) {
        throw new CommandFailure(`${METRICS_OUTPUT}: not valid JSON (${(error as Error).message}); "pipeline run evaluate --force" rewrites it`, 1);
      }
      warn(io, staleWarning('evaluate', inspection));
      const format = outputFormat(args);
      const fresh = freshness.get('evaluate')?.fresh ?? false;
      if (args.diff === undefined) {
        // Tomorrow's forecast and the backtest's pooled scores, when those stages are part of the
        // pipeline and have run.
        const active = new Set(project.stages.map((s) => s.name));
        const forecast = active.has('forecast') ? await readForecast(project.root) : undefined;
        const backtest = active.has('backtest') ? await readBacktest(project.root) : undefined;
        if (forecast) warn(io, staleWarning('forecast', inspection));
        if (backtest) warn(io, staleWarning('backtest', inspection));
        if (format === 'json') {
          const more = {
            ...(forecast ? { forecast: { fresh: freshness.get('forecast')?.fresh ?? false, ...forecast } } : {}),
            ...(backtest ? { backtest: { fresh: freshness.get('backtest')?.fresh ?? false, ...backtest } } : {}),
          };
          io.stdout.write(toJson({ path: METRICS_OUTPUT, fresh, metrics, ...more }));
        } else {
          const table = metricsTable(metrics);
          const rows = [...table.rows, ...(forecast ? forecastRows(forecast) : []), ...(backtest ? backtestRows(backtest) : [])];
          io.stdout.write(formatTable({ ...table, rows }, format));
          if (format === 'table' && backtest) io.stdout.write(`\nbacktest: ${backtest.verdict}\n`);
        }
        return 0;
      }
      let baseline;
      try {
        baseline = await metricsBaseline(project.root, project.artifactsDir, args.diff === '' ? undefined : args.diff);
      } catch (error) {
        if (error instanceof BaselineMissing) throw new CommandFailure(error.message, 2);
        throw error;
      }
      warn(io, baseline.note);
      // Float noise from recomputing the same figures is no change (METRIC_TOLERANCE).
      const rows = diffLeaves(metricFigures(baseline.value), metricFigures(metrics), METRIC_TOLERANCE).filter((r) => args.all || r.changed);
      if (format === 'json') {
        io.stdout.write(toJson({ baseline: baseline.source, fresh, diff: rows.map(({ changed: _, ...r }) => ({ ...r, old: r.old ?? null, new: r.new ?? null })) }));
        return 0;
      }
      if (format === 'table') io.stderr.write(`comparing with ${baseline.source}\n`);
      if (rows.length === 0 && format === 'table') io.stdout.write('no metric changed\n');
      else io.stdout.write(formatTable(diffTable(rows, metrics), format));
      return 0;
    }, args.json === true);
  },
});
