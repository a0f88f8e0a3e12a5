// `pipeline params diff [REV]`: each stage's effective params now against those recorded in
// pipeline.lock at git REV (default HEAD), or in the last run's lock when none is committed.
import { BaselineMissing, diffLeaves, flatten, paramsBaseline } from '../../inspect/compare.ts';
import { effectiveParams } from '../../runner/fingerprint.ts';
import { CommandFailure, guarded } from '../inspection.ts';
import { loadProject } from '../../runner/project.ts';
import { formatTable, outputFormat, toJson } from '../../inspect/table.ts';
import { defineCommand } from '../command.ts';

interface ParamsArgs {
  action: string;
  rev?: string;
  all?: boolean;
  json?: boolean;
  csv?: boolean;
  config?: string;
  set?: string[];
}

export const paramsCommand = defineCommand<ParamsArgs>({
  command: 'params <action> [rev]',
  describe: 'params diff [REV]: the effective parameters against those in pipeline.lock at git REV (default HEAD)',
  builder: (y) =>
    y
      .positional('action', { type: 'string', choices: ['diff'], describe: 'what to do: diff' })
      .positional('rev', { type: 'string', describe: 'git revision whose pipeline.lock to compare with (default HEAD)' })
      .option('set', { type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'stage.key=value override to compare as if given to run' })
      .option('all', { type: 'boolean', describe: 'list unchanged parameters too' })
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('csv', { type: 'boolean', describe: 'print CSV' }) as never,
  async run(args, io) {
    return guarded(io, 'params', async () => {
      const project = await loadProject({ cwd: io.cwd, stagesModule: io.env.PIPELINE_STAGES, config: args.config, set: args.set ?? [] });
      let baseline;
      try {
        baseline = await paramsBaseline(project.root, args.rev);
      } catch (error) {
        if (error instanceof BaselineMissing) throw new CommandFailure(error.message, 2);
        throw error;
      }
      const now = Object.fromEntries(project.stages.map((stage) => [stage.name, effectiveParams(stage, project.params)]));
      const rows = diffLeaves(flatten(baseline.value), flatten(now)).filter((r) => args.all || r.changed);
      const format = outputFormat(args);
      if (format === 'json') {
        io.stdout.write(toJson({ baseline: baseline.source, diff: rows.map(({ changed: _, ...r }) => ({ ...r, old: r.old ?? null, new: r.new ?? null })) }));
        return 0;
      }
      if (format === 'table') io.stderr.write(`comparing with ${baseline.source}\n`);
      if (rows.length === 0 && format === 'table') {
        io.stdout.write('no parameter changed\n');
        return 0;
      }
      io.stdout.write(
        formatTable({ columns: ['param', 'old', 'new', 'change'], rows: rows.map((r) => [r.key, r.old ?? null, r.new ?? null, r.change]), nullText: '' }, format),
      );
      return 0;
    }, args.json === true);
  },
});
