// The contract between the runner and a stage. A stage is data (name, params schema, inputs, outputs)
// plus one async `run`. Stages never print: they report progress and messages through the context.
import type { z } from 'zod';

/** Every stage's validated, effective parameters, keyed by stage name (defaults filled in). */
export type PipelineParams = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** An input: an artifact another stage writes, or a file outside artifacts/ (e.g. the source CSV). */
export type StageInput =
  | { readonly stage: string; readonly file: string }
  | { readonly path: string };

export interface Progress {
  /** Units done so far (rows, epochs, days…). */
  readonly done: number;
  /** Total units when known; a bar is drawn only when it is. */
  readonly total?: number;
  /** What the units are, e.g. "epoch", "rows"; may carry a figure such as "loss 0.0012". */
  readonly label?: string;
}

/** How an input differs from what the stage's previous run read (see `Stage.incremental`). */
export type InputChange =
  | { readonly kind: 'unchanged' }
  /** A file that starts with exactly the `previousSize` bytes the previous run read, and is longer now. */
  | { readonly kind: 'appended'; readonly previousSize: number; readonly size: number }
  /**
   * A folder (an upstream folder output): the files, by path inside it, that differ from last time.
   * `appended`: every record the folder held when this stage last read it is still there, unchanged,
   * and every new record comes after all of them, as the upstream stage declared at each of its runs
   * since (`PreviousRun.appended`); false when that can't be vouched for.
   */
  | {
      readonly kind: 'files';
      readonly changed: readonly string[];
      readonly added: readonly string[];
      readonly removed: readonly string[];
      readonly appended: boolean;
    };

/**
 * What an incremental stage gets to update its previous outputs instead of starting over. The runner
 * offers it only when the code, the params and the library versions are those of the previous run, its
 * outputs are intact (size and hash as the lock recorded them), and every input is unchanged, a file
 * with rows appended, or a folder whose changed files it can name. The stage may still start over;
 * either way its outputs must be exactly those of a run from scratch.
 */
export interface PreviousRun {
  /** How each input changed, in `inputs()` order. */
  readonly inputs: readonly InputChange[];
  /** Absolute path of an output (or a file inside a folder output) as the previous run left it: read only. */
  output(file: string): string;
  /**
   * Puts a file of a previous folder output into the new outputs as it is, e.g.
   * keep('minutes.arrow/2014-09.arrow'): a hard link, so it is neither copied nor hashed again. Never
   * write to a kept file: it is the previous run's file too.
   */
  keep(file: string): Promise<void>;
  /**
   * Declares that the new folder output `file` (e.g. 'minutes.arrow/') holds every record the previous
   * one held, unchanged, with new records appended after all of them (rows appended to a source sorted
   * by time). Once the run succeeds the runner remembers it (machine-local, in the run cache), and a
   * downstream incremental stage that read an earlier version is told (`InputChange.appended`), so it
   * can take over more than the files that did not change. Declare it only when it holds.
   */
  appended(file: string): void;
}

/** An output being written by the runner's hashing writer (`StageContext.writer`). */
export interface OutputWriter {
  /** Appends the bytes (in order; the caller may reuse the buffer once the promise settles). */
  write(bytes: Uint8Array): Promise<void>;
  /** Finishes the file. */
  close(): Promise<void>;
}

export interface StageContext<P> {
  readonly name: string;
  /** This stage's effective parameters (validated, defaults applied, --set overrides applied). */
  readonly params: P;
  /** All stages' effective parameters, for the few cross-stage ones a stage declares in `uses`. */
  readonly pipeline: PipelineParams;
  /** Project root (the folder holding pipeline.yaml). */
  readonly root: string;
  /** Absolute paths of this stage's inputs, in the order `inputs()` returned them (data files found
   *  beside its code are inputs too, but not listed here: the code names them itself). */
  readonly inputs: readonly string[];
  /** Absolute path of an upstream artifact, e.g. input('aggregate', 'daily.arrow'). */
  input(stage: string, file: string): string;
  /** Absolute path to write one of this stage's declared outputs to (a staging folder the runner
   *  moves into artifacts/<stage>/ only after `run` succeeds). For a folder output, the folder
   *  (`output('minutes.arrow/')`) or a file inside it (`output('minutes.arrow/2014-09.arrow')`). */
  output(file: string): string;
  /**
   * Opens one of this stage's declared outputs (or a file inside a folder output) for writing, as
   * `output(file)` names it, and hashes the bytes on their way to the file: the runner records the
   * output without reading it back. For big outputs written in chunks (minute CSVs, monthly Arrow
   * parts). A file changed after `close()` by any other means is hashed again, as any other output.
   */
  writer(file: string): Promise<OutputWriter>;
  /**
   * Writes one of this stage's declared outputs (or a file inside a folder output) whole, from one
   * buffer or from chunks in order, hashed on the way like `writer`. When the same file of the stage's current artifacts already holds exactly these
   * bytes (by the hash the runner recorded for it, its stat unchanged), it is hard-linked instead of
   * written again: a rerun that computes the same monthly part costs no new write. Never modify the
   * file afterwards.
   */
  writeFile(file: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** Set for an incremental stage when it can update its previous outputs (see PreviousRun). */
  readonly previous?: PreviousRun;
  /** Aborted on Ctrl-C: stop soon, partial outputs are discarded by the runner. */
  readonly signal: AbortSignal;
  progress(progress: Progress): void;
  /** A one-line message for the log (never printed directly by the stage). */
  info(message: string): void;
  /** Something wrong with the data that does not stop the stage but will bite later (a constant price,
   *  one training pair): said where it appears, as a warning, and kept in the run's result. */
  warn(message: string): void;
}

export interface Stage<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  /** One line for `pipeline dag`, `inspect` and the README. */
  readonly description: string;
  /** `import.meta.url` of the stage module: it and every file its code can load (its module graph) form
   *  the code hash; a data file it names with new URL('./file', import.meta.url) is an input. */
  readonly module: string;
  /** Parameter schema (see pipeline/contract/params.ts); defaults reproduce the notebook. */
  readonly params: S;
  /** Other stages' params this stage's results depend on, as "stage.key" (e.g. "split.test_days"). */
  readonly uses?: readonly string[];
  /** npm packages whose versions change this stage's results: each counts with every package it needs,
   *  transitively (recorded in the fingerprint). */
  readonly libraries?: readonly string[];
  /** Only part of the pipeline when another stage takes one of its outputs as input (e.g. sample). */
  readonly onlyIfUsed?: boolean;
  /**
   * Can bring its previous outputs up to date when its inputs only grew (a source file with rows
   * appended, an upstream folder with some files changed or added): `run` then gets `ctx.previous`.
   */
  readonly incremental?: boolean;
  inputs(pipeline: PipelineParams): readonly StageInput[];
  /** File names written into artifacts/<name>/; a name ending in "/" is a folder output, recorded as a
   *  manifest of the files the stage writes inside it (like DVC's directory outputs). */
  outputs(pipeline: PipelineParams): readonly string[];
  run(ctx: StageContext<z.output<S>>): Promise<void>;
}

/**
 * A parameter value that only the data shows to be unusable (e.g. more backtest folds than the days
 * allow). Thrown by a stage's `run`, it is reported like any configuration error: located at the first
 * of `keys` ("stage.key") that pipeline.yaml or a --set names, with exit code 2.
 */
export class ParamsError extends Error {
  readonly keys: readonly string[];

  constructor(keys: readonly string[], message: string) {
    super(message);
    this.name = 'ParamsError';
    this.keys = keys;
  }
}

/** Identity function that gives `run` its typed params. */
export function defineStage<S extends z.ZodType>(stage: Stage<S>): Stage<S> {
  return stage;
}
