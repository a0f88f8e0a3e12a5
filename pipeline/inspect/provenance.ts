// Which parameters made the artifacts there are: pipeline.lock records each stage's effective params
// as they were when its outputs were written. Against the current configuration (pipeline.yaml and any
// --set), that says which edits are pending, i.e. not run yet — what a stale warning and the report's
// configuration table tell apart.
import { withUpstream } from '../runner/graph.ts';
import { effectiveParams } from '../runner/fingerprint.ts';
import type { Lock } from '../runner/lock.ts';
import type { Project } from '../runner/project.ts';

export interface ParamProvenance {
  readonly stage: string;
  /** As the user writes it in --set: `train.epochs`, or a used key as declared (`split.test_days`). */
  readonly name: string;
  /** The key inside the stage's params (`epochs`, `split.test_days`). */
  readonly key: string;
  /** The value the stage's artifacts were made with; undefined when it has not run (or had no such key). */
  readonly made: unknown;
  /** The value in the current configuration. */
  readonly now: unknown;
  /** The stage has run and the value it ran with differs from the current one. */
  readonly pending: boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Every parameter of every active stage: what made its artifacts and what the configuration says now. */
export function paramProvenance(project: Project, lock: Lock | undefined): ParamProvenance[] {
  return project.stages.flatMap((stage) => {
    const entry = lock?.stages[stage.name];
    const now = effectiveParams(stage, project.params);
    const keys = [...new Set([...Object.keys(now), ...Object.keys(entry?.params ?? {})])];
    return keys.map((key) => {
      const made = entry?.params[key];
      return {
        stage: stage.name,
        name: key.includes('.') ? key : `${stage.name}.${key}`,
        key,
        made,
        now: now[key],
        pending: entry !== undefined && !same(made, now[key]),
      };
    });
  });
}

/** The params whose edits a stage's artifacts do not reflect yet: its own and its upstream stages', each once. */
export function pendingEdits(project: Project, lock: Lock | undefined, stage: string): ParamProvenance[] {
  const chain = new Set(withUpstream(project.graph, [stage]));
  const seen = new Set<string>();
  return paramProvenance(project, lock).filter((p) => {
    if (!p.pending || !chain.has(p.stage) || seen.has(p.name)) return false;
    seen.add(p.name);
    return true;
  });
}

/** A value as it is typed after `--set stage.key=`. */
export function setValue(value: unknown): string {
  if (typeof value === 'string' && /^[\w./:@+-]+$/.test(value)) return value;
  return JSON.stringify(value) ?? String(value);
}
