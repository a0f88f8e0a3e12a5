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

export interface Inspection {
  readonly project: Project;
  readonly artifacts: readonly Artifact[];
  readonly freshness: FreshnessByStage;
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

export async function openInspection(args: { config?: unknown }, io: Io): Promise<Inspection> {
  const project = await loadProject({ cwd: io.cwd, config: typeof args.config === 'string' ? args.config : undefined });
  const statuses = await stageStatuses(project);
  const freshness = new Map(statuses.map((s) => [s.stage, { fresh: s.fresh, reasons: s.reasons }]));
  return { project, artifacts: listArtifacts(project.artifactsDir, project.stages, project.params), freshness };
}

/** Runs a command body, printing expected failures as one line on stderr with their exit code. */
export async function guarded(io: Io, command: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ConfigError) {
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

/** A one-line warning when a stage's outputs are not those of its current inputs and params. */
export function staleWarning(stage: string, freshness: FreshnessByStage): string | undefined {
  const f = freshness.get(stage);
  if (!f || f.fresh) return undefined;
  const why = f.reasons.length > 0 ? f.reasons.join('; ') : 'out of date';
  return `${stage} is stale (${why}); its artifacts are from an earlier run — "pipeline run ${stage}" refreshes them`;
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
