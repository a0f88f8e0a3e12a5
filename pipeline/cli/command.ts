// One CLI command: its yargs definition and a handler that returns the exit code
// (0 success, 1 a stage failed, 2 usage or config error, 130 interrupted).
import type { Argv } from 'yargs';

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Folder the command runs in; pipeline.yaml is looked up here unless --config says otherwise. */
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface Command<A = Record<string, unknown>> {
  readonly command: string | readonly string[];
  readonly describe: string;
  builder(yargs: Argv): Argv<A>;
  run(args: A, io: Io): Promise<number>;
}

export function defineCommand<A>(command: Command<A>): Command<A> {
  return command;
}
