// A loaded project: the config file, its validated params, and the active stages as a graph.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, parseConfig, type ConfigIssue, type Override } from './config.ts';
import { CONFIG_FILE, findProjectRoot } from './discover.mjs';
import { buildGraph, withDataBesideCode, type Graph } from './graph.ts';
import { ModuleGraph } from './modules.ts';
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
  /** Builds the stages' code closures (with its cache of parsed modules). */
  readonly modules: ModuleGraph;
  /** A located configuration issue about these params ("stage.key"), e.g. for a stage's ParamsError. */
  issueAt(keys: readonly string[], message: string): ConfigIssue;
}

export interface LoadOptions {
  readonly cwd: string;
  /** Config file, relative to cwd; default the pipeline.yaml of cwd or the nearest folder above it. */
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
  // Without --config, the project is found upward from the working folder (like git, npm and dvc);
  // relative paths inside it (ingest.source, also given by --set) stay relative to pipeline.yaml.
  const found = opts.config === undefined ? findProjectRoot(opts.cwd) : undefined;
  const configPath = opts.config !== undefined ? resolve(opts.cwd, opts.config) : join(found ?? resolve(opts.cwd), CONFIG_FILE);
  const label = displayPath(opts.cwd, configPath);
  if (opts.config === undefined && found === undefined) {
    throw new ConfigError([
      { location: CONFIG_FILE, message: `not found in ${resolve(opts.cwd)} or any folder above it; run in a project folder or pass --config FILE` },
    ]);
  }
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(error)})`;
    throw new ConfigError([{ location: label, message: `${why}; run in a project folder or pass --config FILE` }]);
  }
  const registry = opts.stages ?? (await importRegistry(opts.cwd, opts.stagesModule));
  const { params, overrides, issueAt } = parseConfig(label, text, registry, opts.set ?? []);
  const root = dirname(configPath);
  const artifactsDir = join(root, 'artifacts');
  const declared = buildGraph(registry, params, root);
  const modules = await ModuleGraph.open(join(artifactsDir, '.cache', 'modules.json'));
  const graph = withDataBesideCode(declared, root, await dataBesideCode(declared, modules, opts.cwd));
  await modules.save().catch(() => {});
  return {
    root,
    configPath,
    artifactsDir,
    registry,
    stages: graph.order.map((name) => graph.nodes.get(name)!.stage),
    params,
    overrides,
    graph,
    modules,
    issueAt,
  };
}

/**
 * Each active stage's code graph, built now so that a specifier the fingerprint can't follow is an
 * error at load time (every one found, with its place), and the data files the code names beside
 * itself can join the stage's inputs.
 */
async function dataBesideCode(graph: Graph, modules: ModuleGraph, cwd: string): Promise<Map<string, { file: string; module: string }[]>> {
  const found = new Map<string, { file: string; module: string }[]>();
  const issues = new Map<string, ConfigIssue>();
  for (const name of graph.order) {
    try {
      const code = await modules.closure(fileURLToPath(graph.nodes.get(name)!.stage.module), { cwd });
      found.set(name, [...code.data].map(([file, module]) => ({ file, module })));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Stages share modules: each problem once.
      for (const issue of error.issues) issues.set(`${issue.location} ${issue.message}`, issue);
    }
  }
  if (issues.size > 0) throw new ConfigError([...issues.values()]);
  return found;
}
