// `pipeline` command line: yargs parses, each command in pipeline/commands/ does the work.
import yargs from 'yargs';
import type { Command, Io } from './commands/command.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { dagCommand } from './commands/dag.ts';
import { gcCommand } from './commands/gc.ts';
import { inspectCommand } from './commands/inspect.ts';
import { queryCommand } from './commands/query.ts';
import { metricsCommand } from './commands/metrics.ts';
import { paramsCommand } from './commands/params.ts';
import { reportCommand } from './commands/report.ts';

const commands = [
  runCommand,
  statusCommand,
  dagCommand,
  gcCommand,
  inspectCommand,
  queryCommand,
  metricsCommand,
  paramsCommand,
  reportCommand,
] as unknown as readonly Command[];

export function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  let exitCode = 0;
  let usageError: string | undefined;
  const cli = yargs([...argv])
    .scriptName('pipeline')
    .usage('$0 <command> [options]')
    .option('config', { type: 'string', describe: 'pipeline file', default: 'pipeline.yaml', global: true })
    .strict()
    .demandCommand(1, 'Name a command: pipeline run, status, dag, inspect, query, metrics, report, gc')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(100, io.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      usageError = message;
    });
  for (const c of commands) {
    cli.command(c.command as string, c.describe, (y) => c.builder(y), async (args) => {
      exitCode = await c.run(args as Record<string, unknown>, io);
    });
  }
  let helpShown = false;
  await cli.parseAsync([...argv], {}, (err, _argv, output) => {
    if (output && !err) {
      io.stdout.write(output.endsWith('\n') ? output : output + '\n');
      helpShown = true;
    }
  });
  if (usageError !== undefined) {
    io.stderr.write(`pipeline: ${usageError}\nRun "pipeline --help" for the commands and options.\n`);
    return 2;
  }
  return helpShown ? 0 : exitCode;
}
