// A throw-away project for runner tests: pipeline.yaml, a source file and cheap stage modules written
// as real files (so editing one is a real code change), each appending its name to counts.log when it
// runs. Stages are re-imported with a `?rev=N` query after every change to defeat the ESM cache.
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach } from 'vitest';
import type { PipelineEvent, RunResult } from '../pipeline/runner/events.ts';
import { runPipeline, type RunOptions } from '../pipeline/runner/executor.ts';
import { loadProject, type Project } from '../pipeline/runner/project.ts';
import type { Stage } from '../pipeline/contract/stage.ts';

const BIN = fileURLToPath(new URL('../bin/pipeline.mjs', import.meta.url));
const PARAMS_URL = pathToFileURL(fileURLToPath(new URL('../pipeline/contract/params.ts', import.meta.url))).href;

export interface FakeStage {
  readonly name: string;
  /** `{ stage, file }` artifact inputs or `{ path }` source files. */
  readonly inputs: readonly ({ stage: string; file: string } | { path: string })[];
  readonly outputs?: readonly string[];
  /** Parameter schema source, e.g. `{ times: positiveInt(1, 'copies') }` (pipeline/contract/params.ts builders). */
  readonly params?: string;
  /** JS expression over `text` (the inputs concatenated) and `p` (params): the content of every output. */
  readonly transform?: string;
  readonly onlyIfUsed?: boolean;
  readonly uses?: readonly string[];
  readonly libraries?: readonly string[];
  /** The outputs run() actually writes (default: all declared ones). */
  readonly writes?: readonly string[];
  /** Extra top-level source of the stage module (imports, helpers). */
  readonly header?: string;
  /** Statements run() executes first, after counting the run (may `await`; `transform` sees their variables). */
  readonly body?: string;
  /** Declares the stage incremental (it gets ctx.previous when the runner can offer it). */
  readonly incremental?: boolean;
  /** JS statements that replace the default way of writing the outputs (`ctx`, `text`, `p`, `outputs` in scope). */
  readonly write?: string;
}

function stageSource(s: FakeStage): string {
  return `// Fake stage for runner tests.
import { appendFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { flag, nonNegativeInt, oneOf, paramsOf, positiveInt, text } from '${PARAMS_URL}';
${s.header ?? ''}

export const stage = {
  name: ${JSON.stringify(s.name)},
  description: 'test stage ${s.name}',
  module: import.meta.url,
  params: paramsOf(${s.params ?? '{}'}),
  ${s.onlyIfUsed ? 'onlyIfUsed: true,' : ''}
  ${s.uses ? `uses: ${JSON.stringify(s.uses)},` : ''}
  ${s.libraries ? `libraries: ${JSON.stringify(s.libraries)},` : ''}
  ${s.incremental ? 'incremental: true,' : ''}
  inputs: () => ${JSON.stringify(s.inputs)},
  outputs: () => ${JSON.stringify(s.outputs ?? ['out.txt'])},
  async run(ctx) {
    appendFileSync(join(ctx.root, 'counts.log'), ctx.name + '\\n');
    ${s.body ?? ''}
    const p = ctx.params;
    const text = ctx.inputs.map((f) => (statSync(f).isDirectory() ? '' : readFileSync(f, 'utf8'))).join('');
    const outputs = ${JSON.stringify(s.writes ?? s.outputs ?? ['out.txt'])};
    // Triggers a test sets by creating files in the project root.
    if (existsSync(join(ctx.root, 'FAIL_' + ctx.name))) throw new Error(ctx.name + ' broke on purpose');
    if (existsSync(join(ctx.root, 'HANG_' + ctx.name))) {
      writeFileSync(ctx.output(outputs[0]), 'partial');
      writeFileSync(join(ctx.root, 'STARTED_' + ctx.name), '');
      while (!existsSync(join(ctx.root, 'RELEASE_' + ctx.name))) {
        if (ctx.signal.aborted) throw new Error('aborted');
        ctx.progress({ done: 1, total: 2, label: 'waiting' });
        await sleep(20);
      }
    }
    ${s.write ?? `for (const out of outputs) writeFileSync(ctx.output(out), String(${s.transform ?? 'text'}));`}
  },
};
`;
}

export class Rig {
  private rev = 0;
  private fakes: FakeStage[] = [];

  private constructor(readonly root: string) {}

  static async create(): Promise<Rig> {
    const rig = new Rig(await mkdtemp(join(tmpdir(), 'pipeline-rig-')));
    // The stage modules are ESM; without this tsx would compile them as CommonJS in the spawned CLI.
    await rig.write('package.json', '{ "type": "module" }\n');
    return rig;
  }

  /** The usual chain: data/in.txt -> a (trim + upper-case) -> b (times copies) -> c (length). */
  static async chain(): Promise<Rig> {
    const rig = await Rig.create();
    await rig.write('data/in.txt', 'hello\n');
    await rig.setStages([
      { name: 'a', inputs: [{ path: 'data/in.txt' }], params: `{ note: text('none', 'ignored by the code') }`, transform: 'text.trim().toUpperCase()' },
      { name: 'b', inputs: [{ stage: 'a', file: 'out.txt' }], params: `{ times: positiveInt(2, 'copies') }`, transform: 'text.repeat(p.times)' },
      { name: 'c', inputs: [{ stage: 'b', file: 'out.txt' }], transform: '`length ${text.length}`' },
    ]);
    await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b: { times: 2 }\n  c: {}\n');
    return rig;
  }

  /** An empty project with data/in.txt and a pipeline.yaml that takes every default; no stages yet. */
  static async withInput(): Promise<Rig> {
    const rig = await Rig.create();
    await rig.write('data/in.txt', 'hello\n');
    await rig.write('pipeline.yaml', 'stages: {}\n');
    return rig;
  }

  /** The chain after one full run: every stage fresh, each run once. */
  static async ranChain(): Promise<Rig> {
    const rig = await Rig.chain();
    await rig.run();
    return rig;
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  async write(rel: string, content: string): Promise<void> {
    await mkdir(dirname(this.path(rel)), { recursive: true });
    await writeFile(this.path(rel), content);
  }

  async read(rel: string): Promise<string> {
    return readFile(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  /** Writes the stage modules and the registry module stages/index-<rev>.ts (what PIPELINE_STAGES names). */
  async setStages(fakes: readonly FakeStage[]): Promise<void> {
    this.fakes = [...fakes];
    for (const fake of fakes) await this.write(`stages/${fake.name}.ts`, stageSource(fake));
    await this.writeIndex();
  }

  private async writeIndex(): Promise<void> {
    this.rev++;
    const lines = this.fakes.map((f, i) => `import { stage as s${i} } from './${f.name}.ts?rev=${this.rev}';`);
    // A new registry file per revision: the CLI imports it by path (PIPELINE_STAGES), without a query.
    const body = `${lines.join('\n')}\nexport const stages = [${this.fakes.map((_, i) => `s${i}`).join(', ')}];\n`;
    await this.write(this.indexFile(), body);
  }

  /** The current registry module, relative to the root (what the CLI gets as PIPELINE_STAGES). */
  indexFile(): string {
    return `stages/index-${this.rev}.ts`;
  }

  /** A code change: appends a statement to a stage module. */
  async editStage(name: string, code = `export const edited${this.rev} = ${this.rev};\n`): Promise<void> {
    await appendFile(this.path(`stages/${name}.ts`), code);
    await this.writeIndex();
  }

  async stages(): Promise<Stage[]> {
    const loaded = (await import(pathToFileURL(this.path(this.indexFile())).href)) as { stages: Stage[] };
    return loaded.stages;
  }

  async project(set: readonly string[] = []): Promise<Project> {
    return loadProject({ cwd: this.root, set, stages: await this.stages() });
  }

  /** Runs in-process; the events are collected. */
  async run(opts: RunOptions & { set?: readonly string[] } = {}): Promise<RunResult & { events: PipelineEvent[] }> {
    const events: PipelineEvent[] = [];
    const result = await runPipeline(await this.project(opts.set), { ...opts, onEvent: (e) => events.push(e) });
    return { ...result, events };
  }

  /** How often each stage has run, from counts.log. */
  async counts(): Promise<Record<string, number>> {
    const text = this.exists('counts.log') ? await this.read('counts.log') : '';
    const counts: Record<string, number> = {};
    for (const fake of this.fakes) counts[fake.name] = 0;
    for (const line of text.split('\n').filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
    return counts;
  }

  /** `pipeline <argv>` in-process, with captured output, on this rig's stages, colours off. */
  async cli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) =>
      new Writable({
        write(chunk: Buffer, _enc, done) {
          append(chunk.toString());
          done();
        },
      });
    // Imported here: the CLI pulls in every command module, which runner-only tests don't need.
    const { main } = await import('../pipeline/cli/main.ts');
    const code = await main(argv, {
      stdout: sink((s) => (stdout += s)),
      stderr: sink((s) => (stderr += s)),
      cwd: this.root,
      env: { NO_COLOR: '1', PIPELINE_STAGES: this.indexFile(), ...env },
    });
    return { code, stdout, stderr };
  }

  /**
   * The real binary (bin/pipeline.mjs) in a child process, on this rig's stages: Node's own module
   * loading, a fresh process per call. `done` settles when it exits.
   */
  spawnCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): { done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
    const child = spawn(process.execPath, [BIN, ...argv], {
      cwd: this.root,
      env: { ...process.env, NO_COLOR: '1', PIPELINE_STAGES: this.indexFile(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return { done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr }))) };
  }

  /**
   * Starts a run with `stage` held (HANG_<stage>: it waits once it has read its inputs), runs `during`
   * while it waits, releases it and returns what `start` returned once it ends.
   */
  async holding<T>(stage: string, start: () => Promise<T>, during: () => Promise<void>): Promise<T> {
    await this.write(`HANG_${stage}`, '');
    const running = start();
    await until(() => this.exists(`STARTED_${stage}`));
    await during();
    await this.write(`RELEASE_${stage}`, '');
    const result = await running;
    for (const file of [`HANG_${stage}`, `STARTED_${stage}`, `RELEASE_${stage}`]) await rm(this.path(file), { force: true });
    return result;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * Gives every test of the calling file a fresh rig from `make`, deleted after the test. `make` also
 * stores it where the tests reach it: `let rig: Rig; rigPerTest(async () => (rig = await Rig.chain()));`
 */
export function rigPerTest(make: () => Promise<Rig>): void {
  let current: Rig | undefined;
  beforeEach(async () => {
    current = await make();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
}

/** Polls `check` every 10 ms until it holds; throws after 5 s. */
export async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(10);
  if (!check()) throw new Error('condition not reached in 5 s');
}
