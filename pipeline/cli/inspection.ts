// The shared start of the read-only commands (inspect, query, metrics, params, report): load the
// project, list its artifacts and ask the runner which stages are fresh. Failures are turned into the
// CLI's exit codes here, once.
import type { Io } from './command.ts';
import { ArtifactError, listArtifacts, type Artifact } from '../inspect/artifacts.ts';
import { ConfigError } from '../runner/config.ts';
import type { FreshnessByStage } from '../inspect/inspect.ts';
import { loadProject, type Project } from '../runner/project.ts';
import { colorsFor } from './logger.ts';
import { stageStatuses } from '../runner/status.ts';
import { readLock, type Lock } from '../runner/lock.ts';
import { pendingEdits, setValue } from '../inspect/provenance.ts';

export interface Inspection {
  readonly project: Project;
  readonly artifacts: readonly Artifact[];
  readonly freshness: FreshnessByStage;
  /** What made the artifacts there are (undefined before the first run). */
  readonly lock: Lock | undefined;
}

/** A failure the command reports as one message and an exit code, not a stack trace. */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A non-negative integer option (`--head 5`), read from the text as typed so that a bad value is
 *  echoed as typed ("abc", not NaN). Declare the option as `countOption(…)` in the builder. */
export function parseCount(name: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  const typed = text.trim() !== '' && Number.isFinite(Number(text)) ? text : JSON.stringify(text);
  throw new CommandFailure(`--${name} must be a non-negative integer, got ${typed}`, 2);
}

/** The yargs declaration of a count option: a string (see parseCount) that must be given a value. */
export function countOption(describe: string) {
  return { type: 'string', requiresArg: true, describe } as const;
}

/** `--set stage.key=value` as the read-only commands take it: read the artifacts against the
 *  configuration a `pipeline run --set …` made them with. */
export const setOption = {
  type: 'string',
  array: true,
  nargs: 1,
  requiresArg: true,
  describe: 'as for run: read the artifacts against this override (stage.key=value, repeatable)',
} as const;

export async function openInspection(args: { config?: unknown; set?: unknown }, io: Io): Promise<Inspection> {
  const set = Array.isArray(args.set) ? args.set.map(String) : [];
  const project = await loadProject({ cwd: io.cwd, stagesModule: io.env.PIPELINE_STAGES, config: typeof args.config === 'string' ? args.config : undefined, set });
  const lock = await readLock(project.root);
  const statuses = await stageStatuses(project, lock);
  const freshness = new Map(statuses.map((s) => [s.stage, { fresh: s.fresh, reasons: s.reasons }]));
  return { project, artifacts: listArtifacts(project.artifactsDir, project.stages, project.params), freshness, lock };
}

/**
 * Runs a command body, printing expected failures as one line on stderr with their exit code. A
 * config error under --json (`json`) is also a JSON document on stdout, as `run --json` prints it:
 * `{ "error": { "type": "config", "message", "issues" } }`.
 */
export async function guarded(io: Io, command: string, body: () => Promise<number>, json = false): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ConfigError) {
      if (json) {
        const issues = error.issues.map(({ location, message }) => ({ location, message }));
        io.stdout.write(`${JSON.stringify({ error: { type: 'config', message: error.message, issues } }, null, 2)}\n`);
      }
      io.stderr.write(`${error.format()}\n`);
      return 2;
    }
    if (error instanceof ArtifactError) {
      io.stderr.write(`pipeline ${command}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof CommandFailure) {
      io.stderr.write(`pipeline ${command}: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

/**
 * A one-line warning when a stage's outputs are not those of its current inputs and params. When
 * parameters explain it (an edit not run yet, or a `run --set` the command was not given), it says
 * which values made the artifacts and how to read them as such.
 */
export function staleWarning(stage: string, inspection: Pick<Inspection, 'freshness' | 'project' | 'lock'>): string | undefined {
  const f = inspection.freshness.get(stage);
  if (!f || f.fresh) return undefined;
  const why = f.reasons.length > 0 ? f.reasons.join('; ') : 'out of date';
  const made = pendingEdits(inspection.project, inspection.lock, stage).filter((p) => p.made !== undefined);
  if (made.length === 0) return `${stage} is stale (${why}); "pipeline run ${stage}" brings its artifacts up to date`;
  const values = made.map((p) => `${p.name}=${setValue(p.made)}`);
  return (
    `${stage} is stale (${why}); its artifacts were made with ${values.join(', ')}: ` +
    `add ${values.map((v) => `--set ${v}`).join(' ')} to read them as made, or "pipeline run ${stage}" remakes them`
  );
}

/** `warning: …` on stderr, the prefix in yellow on a terminal (NO_COLOR and FORCE_COLOR respected). */
export function warn(io: Io, message: string | undefined): void {
  if (message === undefined) return;
  io.stderr.write(`${colorsFor(io.stderr, io.env).yellow('warning:')} ${message}\n`);
}

/** Writes to a stream and waits while its buffer is full: a large output streams in bounded memory.
 *  A stream that closes meanwhile (a reader that stopped early: `| head`) ends the wait too. */
export function writeOut(stream: Io['stdout'], text: string): Promise<void> {
  return new Promise<void>((done) => {
    if (text === '' || (stream as { destroyed?: boolean }).destroyed || stream.write(text)) return done();
    const finish = () => {
      for (const event of ['drain', 'close', 'error']) stream.off(event, finish);
      done();
    };
    for (const event of ['drain', 'close', 'error']) stream.once(event, finish);
  });
}
