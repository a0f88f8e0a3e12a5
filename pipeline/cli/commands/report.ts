// `pipeline report`: artifacts/report.html, one self-contained page of the current results.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { humanSize } from '../../inspect/artifacts.ts';
import { CommandFailure, guarded, openInspection, setOption, warn } from '../inspection.ts';
import { paramProvenance } from '../../inspect/provenance.ts';
import { readTimings } from '../../runner/timings.ts';
import { displayPath } from '../../runner/project.ts';
import { chartUri, readJsonOptional, renderReport, writeAtomically, type DataSummary } from '../../inspect/report.ts';
import { toJson } from '../../inspect/table.ts';
import { readBacktest, readForecast } from '../../inspect/forecast.ts';
import { defineCommand } from '../command.ts';

interface ReportArgs {
  output?: string;
  json?: boolean;
  config?: string;
  set?: string[];
}

export const reportCommand = defineCommand<ReportArgs>({
  command: 'report',
  describe: 'write artifacts/report.html: forecast, configuration, timings, data summary, metrics, backtest, charts, model summary (self-contained)',
  builder: (y) =>
    y
      .option('output', { type: 'string', requiresArg: true, describe: 'where to write the page (default artifacts/report.html)' })
      .option('set', setOption)
      .option('json', { type: 'boolean', describe: 'print what was written as JSON' }) as never,
  async run(args, io) {
    return guarded(io, 'report', async () => {
      // Where the page goes is checked before any work: a folder is not a file name.
      const asked = args.output === undefined ? undefined : resolve(io.cwd, args.output);
      if (args.output !== undefined && (args.output === '' || (await stat(asked!).catch(() => undefined))?.isDirectory())) {
        const example = join(args.output || '.', 'report.html');
        throw new CommandFailure(`--output must name a file, and ${args.output === '' ? 'it is empty' : `${args.output} is a directory`}; e.g. --output ${example}`, 2);
      }
      const inspection = await openInspection(args, io);
      const { project, freshness } = inspection;
      const dir = project.artifactsDir;
      const [prediction, loss] = await Promise.all([chartUri(dir, 'evaluate', 'prediction'), chartUri(dir, 'evaluate', 'loss')]);
      const summary = await readFile(join(dir, 'train', 'summary.txt'), 'utf8').catch(() => undefined);
      const active = new Set(project.stages.map((s) => s.name));
      const backtestChart = await chartUri(dir, 'backtest', 'backtest');
      const html = renderReport({
        title: 'BTC/USD next-day forecast — pipeline report',
        stages: project.stages.map((s) => ({ name: s.name, description: s.description })),
        params: paramProvenance(project, inspection.lock),
        lock: inspection.lock,
        timings: await readTimings(dir),
        freshness,
        dataSummary: (await readJsonOptional(join(dir, 'aggregate', 'report.json'))) as DataSummary | undefined,
        metrics: await readJsonOptional(join(dir, 'evaluate', 'metrics.json')),
        charts: [
          { title: 'Test days: real price, model forecast and persistence', source: prediction.source, dataUri: prediction.uri },
          { title: 'Training loss per epoch', source: loss.source, dataUri: loss.uri },
        ],
        modelSummary: summary,
        forecast: active.has('forecast') ? ((await readForecast(project.root)) ?? null) : undefined,
        backtest: active.has('backtest') ? ((await readBacktest(project.root)) ?? null) : undefined,
        backtestChart: { title: 'Walk-forward backtest: real price, model forecast and persistence, and each fold\'s RMSE ratio', source: backtestChart.source, dataUri: backtestChart.uri },
      });
      const output = asked ?? join(dir, 'report.html');
      try {
        await mkdir(dirname(output), { recursive: true });
        await writeAtomically(output, html);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === undefined) throw error;
        throw new CommandFailure(`cannot write ${displayPath(io.cwd, output)} (${code}: ${(error as Error).message.split(':')[0]})`, 1);
      }
      const size = (await stat(output)).size;
      const stale = project.stages.filter((s) => !freshness.get(s.name)?.fresh).map((s) => s.name);
      if (args.json) {
        io.stdout.write(toJson({ path: displayPath(io.cwd, output), size, stale }));
      } else {
        if (stale.length > 0) warn(io, `stale stages in the report: ${stale.join(', ')}`);
        io.stdout.write(`wrote ${displayPath(io.cwd, output)} (${humanSize(size)})\n`);
      }
      return 0;
    }, args.json === true);
  },
});
