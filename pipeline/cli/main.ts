// `pipeline` command line: yargs parses, each command in pipeline/cli/commands/ does the work.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { suggestion } from '../runner/config.ts';
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

/** The command word: the first argument that is neither an option nor the value of --config. */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** The named command alone; every command when none is named (help, usage errors, suggestions). */
async function loadCommands(argv: readonly string[]): Promise<readonly Command[]> {
  const name = commandWord(argv);
  const wanted = name !== undefined && name in commands ? [name] : Object.keys(commands);
  return (await Promise.all(wanted.map((n) => commands[n]!()))) as readonly Command[];
}

/** The version in the project's package.json (data, not a module: read, not imported). */
function packageVersion(): string {
  const manifest = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? 'unknown';
}

/** The long options a command takes (booleans also as --no-…), from its yargs builder. */
function optionsOf(command: Command | undefined): string[] {
  const probe = (command ? command.builder(yargs([])) : yargs([])) as Argv & { getOptions(): { key: Record<string, unknown>; boolean: string[] } };
  const { key, boolean } = probe.getOptions();
  const names = [...Object.keys(key), 'config'].filter((k) => k.length > 1);
  return [...new Set([...names, ...boolean.filter((b) => b.length > 1).map((b) => `no-${b}`)])];
}

/**
 * yargs' usage messages in our words: a mistyped command or option gets a "did you mean" (as stage
 * names and config keys do), an option without its value says which one.
 */
function usageMessage(message: string, argv: readonly string[], loaded: readonly Command[]): string {
  const missing = /^Not enough arguments following: (.+)$/.exec(message);
  if (missing) return `--${missing[1]} needs a value`;
  const choice = /^Invalid values:\s*Argument: (\S+), Given: "([^"]*)", Choices: (.+)$/.exec(message.replace(/\n/g, ' '));
  if (choice) {
    const valid = [...choice[3]!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    return `${choice[1]} must be one of ${choice[3]}, got "${choice[2]}"${suggestion(choice[2]!, valid, false)}`;
  }
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (!unknown) return message;
  const word = commandWord(argv);
  const names = Object.keys(commands);
  if (word !== undefined && !(word in commands)) {
    return `unknown command "${word}"${suggestion(word, names, false)} (commands: ${names.join(', ')})`;
  }
  const command = loaded.find((c) => String(c.command).split(' ')[0] === word);
  const options = optionsOf(command);
  return unknown[1]!
    .split(', ')
    .map((name) => {
      const typed = argv.find((a) => a.replace(/^-+/, '').split('=')[0] === name);
      if (typed === undefined || !typed.startsWith('-')) return `unexpected argument "${name}"`;
      const near = suggestion(name, options, false).replace(/"([^"]+)"/, '--$1');
      return `unknown option ${typed.split('=')[0]}${near}${near ? '' : ` (${word ?? 'pipeline'} takes: ${options.map((o) => `--${o}`).join(', ')})`}`;
    })
    .join('; ');
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
      requiresArg: true,
      global: true,
    })
    .strict()
    .demandCommand(1, `Name a command: ${Object.keys(commands).join(', ')}`)
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .alias('V', 'version')
    .wrap(Math.min(100, io.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      // yargs' own validation errors (an option without its value) are usage errors; others are bugs.
      if (error && error.name !== 'YError') throw error;
      usageError = message ?? error?.message;
    });
  // The handler only records what to run: yargs reports strict-mode errors (an unknown option) after
  // calling it, and a mistyped option must not start a run.
  let pending: (() => Promise<number>) | undefined;
  const loaded = await loadCommands(argv);
  for (const c of loaded) {
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
    const message = usageMessage(usageError, argv, loaded);
    // Whoever asked for --json reads stdout: the error goes there as a document too.
    if (argv.includes('--json')) io.stdout.write(`${JSON.stringify({ error: { type: 'usage', message } }, null, 2)}\n`);
    io.stderr.write(`pipeline: ${message}\nRun "pipeline --help" for the commands and options.\n`);
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
