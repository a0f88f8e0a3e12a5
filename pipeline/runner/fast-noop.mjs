// @ts-check
// The no-op fast path of a plain `pipeline run`, checked before tsx or any TypeScript is loaded.
//
// After a run in which every stage was skipped, the run command writes a witness
// (artifacts/.cache/noop.json): the size, mtime, ctime, inode and device of every file that decision
// read — config, lock, the runner's and stages' code, library manifests and npm's installed lockfile,
// every input and output — and "absent" for paths that did not exist. If all of them still stat the
// same, the full check would read the same bytes and reach the same verdict, so we print its lines and
// exit. This is the stat cache's trust model (pipeline/runner/hash.ts), applied to the whole decision. Anything else falls through to the
// full runner: other arguments, another PIPELINE_STAGES, another run holding the project, any stat
// change. PIPELINE_NO_FAST_PATH=1 turns it off (the benchmark measures both).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { findProjectRoot } from './discover.mjs';

export const WITNESS_VERSION = 2;

/** @param {string} root */
export function witnessPath(root) {
  return join(root, 'artifacts', '.cache', 'noop.json');
}

/**
 * @param {readonly string[]} argv
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, out?: NodeJS.WriteStream }} [io]
 * @returns {Promise<boolean>} true when it printed the result and the run is done
 */
export async function tryNoopFastPath(argv, io = {}) {
  const cwd = io.cwd ?? process.cwd();
  const env = io.env ?? process.env;
  const out = io.out ?? process.stdout;
  if (argv.length !== 1 || argv[0] !== 'run' || env.PIPELINE_NO_FAST_PATH) return false;
  // The project the full runner would find: pipeline.yaml here or in the nearest folder above.
  const root = findProjectRoot(cwd);
  if (root === undefined) return false;
  // A relative PIPELINE_STAGES names another file from another folder.
  if (env.PIPELINE_STAGES && !isAbsolute(env.PIPELINE_STAGES) && root !== cwd) return false;
  /** @type {{ version: number, root: string, stagesModule: string, stages: string[], closing?: string[], files: [string, number, number, number, number, number][], absent: string[] }} */
  let witness;
  try {
    witness = JSON.parse(readFileSync(witnessPath(root), 'utf8'));
  } catch {
    return false;
  }
  if (witness.version !== WITNESS_VERSION || witness.root !== root) return false;
  if (witness.stagesModule !== (env.PIPELINE_STAGES ?? '')) return false;
  // A run in progress may be rewriting artifacts: let the full runner wait for it.
  if (existsSync(join(root, 'artifacts', '.run.lock'))) return false;
  for (const [path, size, mtimeMs, ctimeMs, ino, dev] of witness.files) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs || st.ctimeMs !== ctimeMs || st.ino !== ino || st.dev !== dev) return false;
  }
  for (const path of witness.absent) if (existsSync(path)) return false;
  const { createColors } = (await import('picocolors')).default;
  const enabled = env.FORCE_COLOR ? env.FORCE_COLOR !== '0' : !env.NO_COLOR && Boolean(out.isTTY) && env.TERM !== 'dumb';
  const c = createColors(enabled);
  out.write(witness.stages.map((name) => `${c.green('✓')} ${name}  ${c.dim('skipped (unchanged)')}\n`).join(''));
  // What the full run printed after the stages (the forecast line); the files it came from are among
  // the outputs checked above.
  out.write((witness.closing ?? []).map((line) => `${line}\n`).join(''));
  return true;
}
