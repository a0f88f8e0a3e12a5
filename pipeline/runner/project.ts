// A loaded project: the config file, its validated params, and the active stages as a graph.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, parseConfig, type Override } from './config.ts';
import { buildGraph, type Graph } from './graph.ts';
import type { PipelineParams, Stage } from '../contract/stage.ts';

export { ConfigError } from './config.ts';

export interface Project {
  /** The folder holding the config file; input paths and artifacts/ are relative to it. */
  readonly root: string;
  readonly configPath: string;
  /** root/artifacts */
  readonly artifactsDir: string;
  /** Every known stage, in registry order (the active ones are `stages`). */
  readonly registry: readonly Stage[];
  /** The active stages in run order (sample is dropped when no stage reads its output). */
  readonly stages: readonly Stage[];
  /** Effective params of every registered stage: file, then --set overrides, then defaults. */
  readonly params: PipelineParams;
  readonly overrides: readonly Override[];
  readonly graph: Graph;
}

export interface LoadOptions {
  readonly cwd: string;
  /** Config file, relative to cwd; default pipeline.yaml. */
  readonly config?: string;
  /** `stage.key=value` overrides. */
  readonly set?: readonly string[];
  /** The stage registry; default the built-in stages (stages/index.ts). */
  readonly stages?: readonly Stage[];
  /** A module exporting `stages` to use as the registry instead of the built-in one (relative to cwd;
   *  the CLI takes it from PIPELINE_STAGES, which is how tests run the CLI on their own stages). */
  readonly stagesModule?: string;
}

async function importRegistry(cwd: string, module: string | undefined): Promise<readonly Stage[]> {
  // The built-in stages are imported only when asked for: tests pass their own.
  if (module === undefined || module === '') return (await import('../../stages/index.ts')).stages;
  const loaded = (await import(pathToFileURL(resolve(cwd, module)).href)) as { stages?: readonly Stage[] };
  if (!Array.isArray(loaded.stages)) throw new Error(`${module} does not export \`stages\` (an array of stages)`);
  return loaded.stages;
}

/** How a file is named in messages: relative to the working folder when inside it. */
export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export async function loadProject(opts: LoadOptions): Promise<Project> {
  const configPath = resolve(opts.cwd, opts.config ?? 'pipeline.yaml');
  const label = displayPath(opts.cwd, configPath);
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(error)})`;
    throw new ConfigError([{ location: label, message: `${why}; run in a project folder or pass --config FILE` }]);
  }
  const registry = opts.stages ?? (await importRegistry(opts.cwd, opts.stagesModule));
  const { params, overrides } = parseConfig(label, text, registry, opts.set ?? []);
  const root = dirname(configPath);
  const graph = buildGraph(registry, params, root);
  return {
    root,
    configPath,
    artifactsDir: join(root, 'artifacts'),
    registry,
    stages: graph.order.map((name) => graph.nodes.get(name)!.stage),
    params,
    overrides,
    graph,
  };
}
