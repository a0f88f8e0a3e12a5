// What the executor reports while it works; the logger turns these into lines or bars, --json ignores
// them. Stages never print: their progress and info arrive here as events too.
import type { Progress } from '../contract/stage.ts';

export type PipelineEvent =
  /** The stages that will be considered, in order. */
  | { readonly type: 'plan'; readonly stages: readonly string[] }
  /** Another run holds the project lock; we wait for it. */
  | { readonly type: 'waiting'; readonly pid: number | undefined }
  | { readonly type: 'start'; readonly stage: string; readonly reasons: readonly string[] }
  | { readonly type: 'progress'; readonly stage: string; readonly progress: Progress }
  | { readonly type: 'info'; readonly stage: string; readonly message: string }
  | { readonly type: 'warning'; readonly stage: string; readonly message: string }
  | { readonly type: 'skipped'; readonly stage: string }
  | { readonly type: 'restored'; readonly stage: string; readonly reasons: readonly string[] }
  | { readonly type: 'done'; readonly stage: string; readonly seconds: number }
  | { readonly type: 'failed'; readonly stage: string; readonly message: string; readonly error: unknown }
  /** The stage's result was thrown away unrecorded: something it was computed from moved (verify.ts). */
  | { readonly type: 'discarded'; readonly stage: string; readonly message: string }
  | { readonly type: 'interrupted'; readonly stage: string };

/** What happened to (or, with --dry, is planned for) one stage. */
export type StageAction =
  | 'skipped'
  | 'restored'
  | 'ran'
  | 'failed'
  | 'interrupted'
  /** Not reached: an earlier stage failed or the run was interrupted. */
  | 'not-run'
  /** --dry: */
  | 'would-skip'
  | 'would-restore'
  | 'would-run';

export interface StageOutcome {
  readonly stage: string;
  readonly action: StageAction;
  /** Why it ran or would run (empty when skipped). */
  readonly reasons: readonly string[];
  readonly seconds?: number;
  readonly error?: string;
  /** What the stage warned about while it ran (ctx.warn). */
  readonly warnings?: readonly string[];
}

export interface RunResult {
  readonly outcome: 'success' | 'failed' | 'interrupted';
  readonly dry: boolean;
  readonly stages: readonly StageOutcome[];
}

export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
