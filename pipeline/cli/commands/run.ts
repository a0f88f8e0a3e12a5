import { ConfigError } from '../../runner/config.ts';
import type { RunResult, StageAction } from '../../runner/events.ts';
import { runPipeline } from '../../runner/executor.ts';
import { colorsFor, debugEnabled, Logger } from '../logger.ts';
import { BusyError } from '../../runner/mutex.ts';
import { StatCache } from '../../runner/hash.ts';
import { recordNoopWitness } from '../../runner/noop.ts';
import { loadProject, type Project } from '../../runner/project.ts';
import { statCacheFile } from '../../runner/status.ts';
import { discardAllStagingSync } from '../../runner/staging.ts';
import type { StageReads } from '../../runner/verify.ts';
import { defineCommand, type Io } from '../command.ts';
import { forecastLine, readForecast } from '../../inspect/forecast.ts';
import { ArtifactError } from '../../inspect/artifacts.ts';

interface RunArgs {
  stages?: string[];
  config?: string;
  force?: boolean;
  single?: boolean;
  from?: string;
  dry?: boolean;
  set?: string[];
  json?: boolean;
  wait?: boolean;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** `{ "error": { "type", "message", … } }` on stdout, for a command asked for --json. */
export function jsonError(io: Io, type: string, message: string, extra: Record<string, unknown> = {}): void {
  io.stdout.write(`${JSON.stringify({ error: { type, message, ...extra } }, null, 2)}\n`);
}

/** Prints a ConfigError with its underlined source lines (with --json also as a JSON document); the exit code is 2. */
export function reportConfigError(error: ConfigError, io: Io, json = false): number {
  if (json) jsonError(io, 'config', error.message, { issues: error.issues.map(({ location, message }) => ({ location, message })) });
  io.stderr.write(`${error.format()}\n`);
  return EXIT.usage;
}

/** The project a command's --config and --set name; a ConfigError is reported and comes back as its exit code. */
export async function loadProjectOrReport(args: { config?: string; set?: string[]; json?: boolean }, io: Io): Promise<Project | number> {
  try {
    return await loadProject({ cwd: io.cwd, stagesModule: io.env.PIPELINE_STAGES, config: args.config, set: args.set ?? [] });
  } catch (error) {
    if (error instanceof ConfigError) return reportConfigError(error, io, args.json);
    throw error;
  }
}

const DRY_LABEL: Partial<Record<StageAction, string>> = {
  'would-skip': 'skip',
  'would-run': 'run',
  'would-restore': 'restore from run cache',
};

function printDry(result: RunResult, io: Io): void {
  const c = colorsFor(io.stdout, io.env);
  const width = Math.max(0, ...result.stages.map((s) => s.stage.length));
  for (const s of result.stages) {
    const action = DRY_LABEL[s.action] ?? s.action;
    const text = s.reasons.length > 0 ? `${action}: ${s.reasons.join('; ')}` : `${action} (unchanged)`;
    io.stdout.write(`${s.stage.padEnd(width)}  ${s.action === 'would-skip' ? c.dim(text) : text}\n`);
  }
}

/** `pipeline run` with nothing else: the only form the no-op fast path (pipeline/runner/fast-noop.mjs) takes. */
function isPlainRun(args: RunArgs): boolean {
  return (
    (args.stages ?? []).length === 0 &&
    !args.force &&
    !args.single &&
    args.from === undefined &&
    !args.dry &&
    (args.set ?? []).length === 0 &&
    !args.json &&
    args.wait !== false &&
    (args.config === undefined || args.config === 'pipeline.yaml')
  );
}

/**
 * The run's last line: tomorrow's forecast, when the forecast stage was part of this run and is now up to
 * date (it ran, was restored or was already fresh). A forecast.json that cannot be read says so instead.
 */
async function closingLines(project: Project, result: RunResult): Promise<string[]> {
  if (result.dry || result.outcome !== 'success') return [];
  const forecast = result.stages.find((s) => s.stage === 'forecast');
  if (!forecast || !['ran', 'restored', 'skipped'].includes(forecast.action)) return [];
  try {
    const read = await readForecast(project.root);
    return read ? [forecastLine(read)] : [];
  } catch (error) {
    if (error instanceof ArtifactError) return [`forecast: ${error.message}`];
    throw error;
  }
}

async function recordWitness(
  startedAt: number,
  project: Project,
  io: Io,
  result: RunResult,
  closing: readonly string[],
  checked: ReadonlyMap<string, StageReads | undefined>,
): Promise<void> {
  try {
    const stat = await StatCache.open(statCacheFile(project.artifactsDir));
    await recordNoopWitness(startedAt, project, io.env.PIPELINE_STAGES, result, (path) => stat.entry(path), closing, checked);
  } catch {
    // Only an optimisation: without a witness the next run takes the full path.
  }
}

export const runCommand = defineCommand<RunArgs>({
  command: 'run [stages..]',
  describe: 'run the stale stages in order (with names: those stages and any stale upstream)',
  builder: (y) =>
    y
      .positional('stages', { type: 'string', array: true, describe: 'stages to bring up to date (default: all)' })
      .option('force', { type: 'boolean', default: false, describe: 'rerun the named (or all) stages even when fresh' })
      .option('single', { type: 'boolean', default: false, describe: 'run only the named stages, on the inputs already there' })
      .option('from', { type: 'string', requiresArg: true, describe: 'rerun this stage and everything downstream of it' })
      .option('dry', { type: 'boolean', default: false, describe: 'print the plan and the reason for each stage; run nothing' })
      .option('set', { type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'override a parameter for this run: stage.key=value (repeatable)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of lines' })
      .option('wait', {
        type: 'boolean',
        default: true,
        describe: 'wait when another run holds the project (--no-wait: refuse at once)',
      }) as never,
  async run(args, io) {
    const startedAt = Date.now();
    const project = await loadProjectOrReport(args, io);
    if (typeof project === 'number') return project;
    const tty = Boolean(io.stdout.isTTY) && !args.json;
    const logger = new Logger({
      out: io.stdout,
      err: io.stderr,
      colors: colorsFor(io.stdout, io.env),
      tty,
      debug: debugEnabled(io.env),
    });
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts === 1) {
        io.stderr.write('\ninterrupting: stopping the current stage (Ctrl-C again to quit at once)\n');
        controller.abort();
        return;
      }
      discardAllStagingSync();
      process.exit(EXIT.interrupted);
    };
    process.on('SIGINT', onSigint);
    let result: RunResult;
    const checked = new Map<string, StageReads | undefined>();
    try {
      result = await runPipeline(project, {
        targets: args.stages ?? [],
        force: args.force,
        single: args.single,
        from: args.from,
        dry: args.dry,
        signal: controller.signal,
        wait: args.wait,
        onEvent: args.json ? undefined : (e) => logger.handle(e),
        onChecked: (stage, reads) => checked.set(stage, reads),
      });
    } catch (error) {
      // The bar (if any) goes before the error is printed.
      logger.close();
      if (error instanceof ConfigError) return reportConfigError(error, io, args.json);
      if (error instanceof BusyError) {
        if (args.json) jsonError(io, 'busy', error.message);
        io.stderr.write(`pipeline run: ${error.message}\n`);
        return EXIT.failed;
      }
      throw error;
    } finally {
      logger.close();
      process.off('SIGINT', onSigint);
    }
    const closing = args.json ? [] : await closingLines(project, result);
    if (isPlainRun(args)) await recordWitness(startedAt, project, io, result, closing, checked);
    if (args.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (result.dry) printDry(result, io);
    else for (const line of closing) io.stdout.write(`${line}\n`);
    switch (result.outcome) {
      case 'success':
        return EXIT.ok;
      case 'failed':
        return EXIT.failed;
      case 'interrupted':
        return EXIT.interrupted;
    }
  },
});
