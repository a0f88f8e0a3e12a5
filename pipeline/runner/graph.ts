// The stages as a graph: which are active, in which order, what each reads and writes.
// Edges come only from `inputs()`: a stage depends on the stages whose artifacts it reads.
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError, suggestion } from './config.ts';
import type { PipelineParams, Stage } from '../contract/stage.ts';

/** An input resolved to a file: `path` is how it is named in the lock and in messages. */
export type ResolvedInput =
  | { readonly kind: 'artifact'; readonly stage: string; readonly file: string; readonly path: string; readonly abs: string }
  | { readonly kind: 'file'; readonly path: string; readonly abs: string }
  /** A data file the stage's code names beside itself (new URL('./x.csv', import.meta.url)): found in
   *  its module graph, not in inputs(), and an input all the same. `module` is the file that names it. */
  | { readonly kind: 'beside-code'; readonly path: string; readonly abs: string; readonly module: string };

export interface StageNode {
  readonly stage: Stage;
  readonly inputs: readonly ResolvedInput[];
  /** Output file names inside artifacts/<stage>/. */
  readonly outputs: readonly string[];
  /** Stages this one reads artifacts of, in run order. */
  readonly upstream: readonly string[];
}

export interface Graph {
  /** Active stage names in run order. */
  readonly order: readonly string[];
  readonly nodes: ReadonlyMap<string, StageNode>;
}

export function artifactPath(stage: string, file: string): string {
  return `artifacts/${stage}/${file}`;
}

/** The inverse of artifactPath: the file's path inside artifacts/<stage>/ (it may hold folders). */
export function fileInStage(stage: string, path: string): string {
  const prefix = artifactPath(stage, '');
  if (!path.startsWith(prefix)) throw new Error(`${path} is not an output of stage ${stage}`);
  return path.slice(prefix.length);
}

function resolveInputs(stage: Stage, params: PipelineParams, root: string): ResolvedInput[] {
  return stage.inputs(params).map((input) =>
    'stage' in input
      ? {
          kind: 'artifact' as const,
          stage: input.stage,
          file: input.file,
          path: artifactPath(input.stage, input.file),
          abs: join(root, 'artifacts', input.stage, input.file),
        }
      : { kind: 'file' as const, path: input.path, abs: isAbsolute(input.path) ? input.path : resolve(root, input.path) },
  );
}

function graphError(stage: Stage, message: string): ConfigError {
  return new ConfigError([{ location: `stage ${stage.name} (${stage.module})`, message }]);
}

/**
 * Active stages: every stage without `onlyIfUsed`, plus each `onlyIfUsed` stage an active stage reads
 * from (transitively). Order: the registry's, which must already respect the edges; a stage reading a
 * later or unknown stage, or a cycle, is an error that names the stages involved.
 */
export function buildGraph(registry: readonly Stage[], params: PipelineParams, root: string): Graph {
  const byName = new Map(registry.map((s) => [s.name, s]));
  const inputsOf = new Map(registry.map((s) => [s.name, resolveInputs(s, params, root)]));
  const names = registry.map((s) => s.name);

  for (const stage of registry) {
    for (const input of inputsOf.get(stage.name) ?? []) {
      if (input.kind !== 'artifact') continue;
      const producer = byName.get(input.stage);
      if (!producer) {
        throw graphError(stage, `reads ${input.path}, but there is no stage "${input.stage}"${suggestion(input.stage, names)}`);
      }
      const outputs = producer.outputs(params);
      if (!outputs.includes(input.file)) {
        throw graphError(stage, `reads ${input.path}, but ${producer.name} writes only ${outputs.join(', ')}`);
      }
    }
  }

  const active = new Set(registry.filter((s) => !s.onlyIfUsed).map((s) => s.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...active]) {
      for (const input of inputsOf.get(name) ?? []) {
        if (input.kind === 'artifact' && !active.has(input.stage)) {
          active.add(input.stage);
          grew = true;
        }
      }
    }
  }

  const order = registry.filter((s) => active.has(s.name)).map((s) => s.name);
  const position = new Map(order.map((n, i) => [n, i]));
  const nodes = new Map<string, StageNode>();
  for (const name of order) {
    const stage = byName.get(name)!;
    const inputs = inputsOf.get(name) ?? [];
    const upstream = [...new Set(inputs.flatMap((i) => (i.kind === 'artifact' ? [i.stage] : [])))];
    for (const up of upstream) {
      if (up === name) throw graphError(stage, `reads its own output (cycle: ${name} → ${name})`);
      if ((position.get(up) ?? -1) > (position.get(name) ?? -1)) {
        const cycle = findCycle(name, inputsOf);
        throw graphError(
          stage,
          cycle
            ? `cycle: ${cycle.join(' → ')}`
            : `reads artifacts of ${up}, which comes after it in the stage list; move ${up} before ${name}`,
        );
      }
    }
    upstream.sort((a, b) => position.get(a)! - position.get(b)!);
    nodes.set(name, { stage, inputs, outputs: stage.outputs(params), upstream });
  }
  return { order, nodes };
}

function findCycle(start: string, inputsOf: ReadonlyMap<string, readonly ResolvedInput[]>): string[] | undefined {
  const path: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    if (visiting.has(name)) return [...path.slice(path.indexOf(name)), name];
    visiting.add(name);
    path.push(name);
    for (const input of inputsOf.get(name) ?? []) {
      if (input.kind !== 'artifact') continue;
      const found = visit(input.stage);
      if (found) return found;
    }
    path.pop();
    visiting.delete(name);
    return undefined;
  };
  // Edges point from reader to producer; reverse so the cycle reads in data-flow order.
  return visit(start)?.reverse();
}

/** How a file outside artifacts/ is named: relative to the project root, with forward slashes. */
export function projectPath(root: string, abs: string): string {
  const rel = relative(root, abs);
  return isAbsolute(rel) ? abs : rel.split(sep).join('/');
}

/**
 * The graph with the data files each stage's code reads beside itself added to its inputs (after the
 * declared ones; one already declared is not repeated). They never add edges: they are not artifacts.
 */
export function withDataBesideCode(graph: Graph, root: string, found: ReadonlyMap<string, readonly { file: string; module: string }[]>): Graph {
  const nodes = new Map<string, StageNode>();
  for (const [name, node] of graph.nodes) {
    const declared = new Set(node.inputs.map((i) => i.abs));
    const extra: ResolvedInput[] = [];
    for (const { file, module } of found.get(name) ?? []) {
      if (declared.has(file)) continue;
      declared.add(file);
      extra.push({ kind: 'beside-code', path: projectPath(root, file), abs: file, module });
    }
    nodes.set(name, extra.length > 0 ? { ...node, inputs: [...node.inputs, ...extra] } : node);
  }
  return { order: graph.order, nodes };
}

/** The named stages and everything they read from, transitively, in run order. */
export function withUpstream(graph: Graph, names: readonly string[]): string[] {
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const up of graph.nodes.get(name)?.upstream ?? []) add(up);
  };
  names.forEach(add);
  return graph.order.filter((n) => wanted.has(n));
}

/** The named stages and everything that reads from them, transitively, in run order. */
export function withDownstream(graph: Graph, names: readonly string[]): string[] {
  const wanted = new Set(names);
  for (const name of graph.order) {
    if (graph.nodes.get(name)?.upstream.some((u) => wanted.has(u))) wanted.add(name);
  }
  return graph.order.filter((n) => wanted.has(n));
}
