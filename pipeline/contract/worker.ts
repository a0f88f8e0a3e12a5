// The script a stage's worker thread runs. A stage names its worker script beside its code
// (new URL('./x-worker.mjs', import.meta.url)), which the module graph follows into the code hash; when
// the CLI runs from its build (pipeline/runner/build.mjs), that script was built too, from the same
// sources, and starts without compiling TypeScript in the thread. The CLI registers the built scripts
// under this global before it loads any stage.
const BUILT = Symbol.for('pipeline.build.workers');

/** The built form of the worker script at `url` when the CLI runs from its build, else `url` itself. */
export function workerScript(url: URL): URL {
  const built = (globalThis as { [BUILT]?: ReadonlyMap<string, string> })[BUILT]?.get(url.href);
  return built === undefined ? url : new URL(built);
}
