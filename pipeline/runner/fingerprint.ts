// What a stage's results depend on, as explicit data. Two runs with equal fingerprints must produce
// the same artifacts; anything that could change them belongs here, and nothing else (a field that
// changes without changing results makes committed locks go stale on a teammate's machine).
import { canonicalJson, sha256Text, type Sha256 } from './hash.ts';
import type { PipelineParams, Stage } from '../contract/stage.ts';

/** sha256 of a stage's canonical FingerprintData. Branded: never compared with a content hash. */
export type Fingerprint = string & { readonly __brand: 'Fingerprint' };

/** Bump when the meaning of a field changes, so every stage reruns once instead of trusting old data. */
const FORMAT = 2;

export interface FingerprintData {
  /** The format of this record itself (see FORMAT). */
  readonly format: number;
  /** The stage's name: it decides where the outputs go, and two stages never share a run-cache entry. */
  readonly stage: string;
  /** The stage module and every module its code graph reaches (modules.ts: imports of every form,
   *  worker scripts; pipeline/contract/params.ts holds the defaults). */
  readonly code: Sha256;
  /** Effective params: its own plus the `uses` keys of other stages, the knobs of the computation. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Content hashes of the inputs, keyed by path. Content, not mtime: an upstream stage that reran and
   *  wrote identical bytes leaves this equal, which is the early cutoff. */
  readonly inputs: Readonly<Record<string, Sha256>>;
  /** Versions of the npm packages the stage declares as changing its results ("absent" when not
   *  installed: tfjs-node present or not decides which kernels compute the numbers). Node's version and
   *  the platform are left out: the stages' arithmetic is JS/WASM or comes from these packages, whose
   *  native builds are already told apart by their versions and presence. */
  readonly libraries: Readonly<Record<string, string>>;
  /** sha256 of those libraries' whole installed closure, every package they need with npm's resolved
   *  version and integrity (libraries.ts): a new vega-scenegraph under the same vega changes the charts.
   *  Undefined for a stage without libraries. */
  readonly libraryClosure?: Sha256;
}

export function fingerprintOf(data: FingerprintData): Fingerprint {
  return sha256Text(canonicalJson(data)) as string as Fingerprint;
}

export function fingerprintData(
  fields: Omit<FingerprintData, 'format'>,
): FingerprintData {
  return { format: FORMAT, ...fields };
}

/** The params a stage's results depend on: its own, then each `uses` key as "stage.key". */
export function effectiveParams(stage: Stage, pipeline: PipelineParams): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(pipeline[stage.name] ?? {}) };
  for (const use of stage.uses ?? []) {
    const [other = '', key = ''] = use.split('.');
    const value = pipeline[other]?.[key];
    if (value === undefined) throw new Error(`stage ${stage.name} uses "${use}", which is not a parameter of any stage`);
    out[use] = value;
  }
  return out;
}
