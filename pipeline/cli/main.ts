// `pipeline` command line: yargs parses, each command in pipeline/cli/commands/ does the work.
import yargs from 'yargs';
import type { Command, Io } from './command.ts';

// Each command module is imported only when its command is asked for: some pull in DuckDB or Arrow at
// load time, and `pipeline run` on an unchanged project should not pay for what `query` needs.
const commands: Readonly<Record<string, () => Promise<unknown>>> = {
  run: async () => (await import('./commands/run.ts')).runCommand,
  status: async () => (await import('./commands/status.ts')).statusCommand,
  dag: async () => (await import('./commands/dag.ts')).dagCommand,
  gc: async () => (await import('./commands/gc.ts')).gcCommand,
  inspect: async () => (await import('./commands/inspect.ts')).inspectCommand,
  query: async () => (await import('./commands/query.ts')).queryCommand,
  metrics: async () => (await import('./commands/metrics.ts')).metricsCommand,
  params: async () => (await import('./commands/params.ts')).paramsCommand,
  report: async () => (await import('./commands/report.ts')).reportCommand,
};

/** The named command alone; every command when none is named (help, usage errors, suggestions). */
async function loadCommands(argv: readonly string[]): Promise<readonly Command[]> {
  const name = argv.find((a) => !a.startsWith('-'));
  const wanted = name !== undefined && name in commands ? [name] : Object.keys(commands);
  return (await Promise.all(wanted.map((n) => commands[n]!()))) as readonly Command[];
}

export function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  let exitCode = 0;
  let usageError: string | undefined;
  const cli = yargs([...argv])
    .scriptName('pipeline')
    .usage('$0 <command> [options]')
    .option('config', {
      type: 'string',
      describe: 'pipeline file (default: pipeline.yaml here or in the nearest folder above)',
      global: true,
    })
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
  // The handler only records what to run: yargs reports strict-mode errors (an unknown option) after
  // calling it, and a mistyped option must not start a run.
  let pending: (() => Promise<number>) | undefined;
  for (const c of await loadCommands(argv)) {
    cli.command(c.command as string, c.describe, (y) => c.builder(y), (args) => {
      pending = () => c.run(args as Record<string, unknown>, io);
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
  if (helpShown) return 0;
  if (pending) {
    try {
      exitCode = await pending();
    } catch (error) {
      // Expected failures are handled by the commands; this is the one boundary for the unexpected
      // (a permission error, a bug): one line, the stack only when asked for.
      const debug = (await import('./logger.ts')).debugEnabled(io.env);
      const text = error instanceof Error ? (debug ? (error.stack ?? error.message) : error.message) : String(error);
      io.stderr.write(`pipeline: ${text}\n${debug ? '' : '(set DEBUG=pipeline for the stack trace)\n'}`);
      return 1;
    }
  }
  return exitCode;
}
