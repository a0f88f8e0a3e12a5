// Turns executor events into what a person reads: one line per stage, a progress bar for long stages on
// a terminal, and on a pipe or in CI plain lines at 25/50/75% (or every few seconds) instead of a bar.
import cliProgress, { SingleBar, type Params } from 'cli-progress';
import pc from 'picocolors';
import { unreachable, type PipelineEvent } from '../runner/events.ts';
import type { Progress } from '../contract/stage.ts';

export type Colors = ReturnType<typeof pc.createColors>;
type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Stack traces are for `DEBUG=pipeline` (also in a list: `DEBUG=other,pipeline`). */
export function debugEnabled(env: NodeJS.ProcessEnv): boolean {
  return /(^|,)\s*pipeline\b/.test(env.DEBUG ?? '');
}

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org), always with FORCE_COLOR. */
export function colorsFor(stream: Stream, env: NodeJS.ProcessEnv): Colors {
  const enabled = env.FORCE_COLOR ? env.FORCE_COLOR !== '0' : !env.NO_COLOR && Boolean(stream.isTTY) && env.TERM !== 'dumb';
  return pc.createColors(enabled);
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** " ETA 2 min 5 s" once cli-progress has a rate to go by (it averages the last updates); else "". */
export function etaText(params: Pick<Params, 'eta' | 'value' | 'total'>): string {
  const eta: unknown = params.eta;
  if (typeof eta !== 'number' || !Number.isFinite(eta) || params.value <= 0 || params.value >= params.total) return '';
  return ` ETA ${formatSeconds(eta)}`;
}

export interface LoggerOptions {
  readonly out: Stream;
  readonly err: Stream;
  readonly colors: Colors;
  /** Draw bars (a terminal) or print plain progress lines. */
  readonly tty: boolean;
  /** Print stacks of stage errors (DEBUG=pipeline). */
  readonly debug: boolean;
  /** Seconds between plain progress lines when a stage reports no total. */
  readonly plainEverySeconds?: number;
}

export class Logger {
  private bar: SingleBar | undefined;
  private held: { text: string; stream: Stream }[] = [];
  private lastQuarter = 0;
  private lastPlain = 0;

  constructor(private readonly options: LoggerOptions) {}

  handle(event: PipelineEvent): void {
    const { out, err, colors: c } = this.options;
    const ok = c.green('✓');
    const bad = c.red('✗');
    switch (event.type) {
      case 'plan':
        return;
      case 'waiting':
        err.write(
          `waiting for another pipeline run${event.pid === undefined ? '' : ` (pid ${event.pid})`} to finish in this project…\n`,
        );
        return;
      case 'start':
        this.lastQuarter = 0;
        this.lastPlain = Date.now();
        return;
      case 'progress':
        this.progress(event.stage, event.progress);
        return;
      case 'info':
        this.line(c.dim(`  ${event.stage}: ${event.message}`));
        return;
      case 'warning':
        this.line(`  ${c.yellow('warning:')} ${event.stage}: ${event.message}`, err);
        return;
      case 'skipped':
        out.write(`${ok} ${event.stage}  ${c.dim('skipped (unchanged)')}\n`);
        return;
      case 'restored':
        out.write(`${ok} ${event.stage}  restored from run cache\n`);
        return;
      case 'done':
        this.stopBar();
        out.write(`${ok} ${event.stage}  ${formatSeconds(event.seconds)}\n`);
        return;
      case 'failed':
        this.stopBar();
        out.write(`${bad} ${event.stage} failed: ${event.message}\n`);
        if (this.options.debug && event.error instanceof Error && event.error.stack) err.write(`${event.error.stack}\n`);
        return;
      case 'discarded':
        this.stopBar();
        out.write(`${bad} ${event.stage}: ${event.message}\n`);
        return;
      case 'interrupted':
        this.stopBar();
        out.write(`${bad} ${event.stage} interrupted; its partial outputs were removed\n`);
        return;
      default:
        unreachable(event);
    }
  }

  /** Stops any bar (call when the run ends, however it ends). */
  close(): void {
    this.stopBar();
  }

  private line(text: string, stream: Stream = this.options.out): void {
    // While a bar is drawn, cli-progress owns the cursor (it restores a saved position on stop, which
    // would overwrite a line printed meanwhile): hold messages until the bar is gone.
    if (this.bar) this.held.push({ text, stream });
    else stream.write(`${text}\n`);
  }

  private progress(stage: string, p: Progress): void {
    const label = p.label ?? '';
    if (this.options.tty) {
      if (p.total === undefined || p.total <= 0) return;
      if (!this.bar) {
        this.bar = new SingleBar({
          stream: this.options.out,
          format: (options, params, payload) =>
            // Format is no named export of the CommonJS package under Node's ESM loader.
            cliProgress.Format.Formatter({ ...options, format: `  ${stage} [{bar}] {percentage}% {value}/{total} {label}${etaText(params)}` }, params, payload),
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          forceRedraw: false,
          noTTYOutput: false,
        });
        this.bar.start(p.total, p.done, { label });
      }
      this.bar.setTotal(p.total);
      this.bar.update(p.done, { label });
      return;
    }
    const now = Date.now();
    if (p.total !== undefined && p.total > 0) {
      const quarter = Math.floor((4 * p.done) / p.total);
      if (quarter > this.lastQuarter && quarter < 4) {
        this.lastQuarter = quarter;
        this.options.out.write(`  ${stage}  ${quarter * 25}% (${p.done}/${p.total}${label ? ` ${label}` : ''})\n`);
      }
      return;
    }
    if (now - this.lastPlain >= (this.options.plainEverySeconds ?? 5) * 1000) {
      this.lastPlain = now;
      this.options.out.write(`  ${stage}  ${p.done}${label ? ` ${label}` : ''}\n`);
    }
  }

  private stopBar(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = undefined;
    for (const { text, stream } of this.held.splice(0)) stream.write(`${text}\n`);
  }
}

