// Runs the CLI in-process with captured output streams, as a user's terminal or pipe would see it.
import { Writable } from 'node:stream';
import { main } from '../../pipeline/cli/main.ts';
import type { Io } from '../../pipeline/cli/command.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

class Capture extends Writable {
  text = '';
  isTTY = false;
  columns = 120;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

export async function runCli(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: Io = { stdout, stderr, cwd, env: { NO_COLOR: '1', ...env } };
  const code = await main(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
