import { ConfigError } from '../../runner/config.ts';
import { colorsFor } from '../logger.ts';
import { loadProject } from '../../runner/project.ts';
import { stageStatuses } from '../../runner/status.ts';
import { defineCommand } from '../command.ts';
import { reportConfigError } from './run.ts';

interface StatusArgs {
  config?: string;
  set?: string[];
  json?: boolean;
}

export const statusCommand = defineCommand<StatusArgs>({
  command: 'status',
  describe: 'every stage fresh or stale, with the reason in words',
  builder: (y) =>
    y
      .option('set', { type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'as for run: see what an override would make stale' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' }) as never,
  async run(args, io) {
    try {
      const project = await loadProject({ cwd: io.cwd, stagesModule: io.env.PIPELINE_STAGES, config: args.config, set: args.set ?? [] });
      const statuses = await stageStatuses(project);
      if (args.json) {
        io.stdout.write(`${JSON.stringify({ stages: statuses }, null, 2)}\n`);
        return 0;
      }
      const c = colorsFor(io.stdout, io.env);
      for (const s of statuses) {
        io.stdout.write(`${s.stage}: ${s.fresh ? c.green('fresh') : c.yellow(s.reasons.join('; '))}\n`);
      }
      return 0;
    } catch (error) {
      if (error instanceof ConfigError) return reportConfigError(error, io, args.json);
      throw error;
    }
  },
});
