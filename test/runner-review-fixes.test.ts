// Regression tests for the runner fixes from review (one behaviour per test): each fails without its fix.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import type { PipelineEvent } from '../pipeline/runner/events.ts';
import { runPipeline } from '../pipeline/runner/executor.ts';
import { tryNoopFastPath } from '../pipeline/runner/fast-noop.mjs';
import { parseLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest, until } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

const PARAMS_URL = pathToFileURL(fileURLToPath(new URL('../pipeline/contract/params.ts', import.meta.url))).href;

/** The fast path as bin/pipeline.mjs calls it: the printed lines when it answered, else undefined. */
async function fastPath(stagesModule: string): Promise<string | undefined> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const done = await tryNoopFastPath(['run'], { cwd: rig.root, env: { NO_COLOR: '1', PIPELINE_STAGES: stagesModule }, out: sink });
  return done ? out : undefined;
}

test('the no-op fast path notices an edit to a .mjs helper that a .mjs stage imports', async () => {
  // A registry and stage written in plain JavaScript: the stage's code is tool.mjs plus helper.mjs.
  await rig.write('js/helper.mjs', "export const shout = (s) => s.toUpperCase();\n");
  await rig.write(
    'js/tool.mjs',
    `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paramsOf } from '${PARAMS_URL}';
import { shout } from './helper.mjs';

export const stage = {
  name: 'tool',
  description: 'a stage written in .mjs',
  module: import.meta.url,
  params: paramsOf({}),
  inputs: () => [{ path: 'data/in.txt' }],
  outputs: () => ['out.txt'],
  async run(ctx) {
    appendFileSync(join(ctx.root, 'counts.log'), ctx.name + '\\n');
    writeFileSync(ctx.output('out.txt'), shout(readFileSync(ctx.inputs[0], 'utf8')));
  },
};
`,
  );
  await rig.write('js/index.mjs', "import { stage } from './tool.mjs';\nexport const stages = [stage];\n");
  await rig.write('pipeline.yaml', 'stages:\n  tool: {}\n');
  const env = { PIPELINE_STAGES: 'js/index.mjs' };
  const runs = async () => (await rig.read('counts.log')).split('\n').filter((l) => l === 'tool').length;

  expect((await rig.cli(['run'], env)).code).toBe(0);
  // Two plain runs: the second skips everything and, its files being older than it, records the witness.
  await sleep(60);
  expect((await rig.cli(['run'], env)).stdout).toBe('✓ tool  skipped (unchanged)\n');
  expect(await fastPath('js/index.mjs')).toBe('✓ tool  skipped (unchanged)\n');
  expect(await runs()).toBe(1);

  await writeFile(rig.path('js/helper.mjs'), "export const shout = (s) => s.toLowerCase();\n");
  // What `pipeline run` does: the fast path must decline, and the full runner reruns the stage.
  expect(await fastPath('js/index.mjs')).toBeUndefined();
  const rerun = await rig.cli(['run'], env);
  expect(rerun.stdout).toMatch(/^✓ tool {2}\d+\.\d s\n$/);
  expect(await runs()).toBe(2);
});

test('a stage whose output is in a subfolder is kept in the run cache and restored from it', async () => {
  await rig.setStages([
    { name: 'a', inputs: [{ path: 'data/in.txt' }], transform: 'text.trim().toUpperCase()' },
    {
      name: 'b',
      inputs: [{ stage: 'a', file: 'out.txt' }],
      outputs: ['sub/out.txt'],
      params: `{ times: positiveInt(2, 'copies') }`,
      transform: 'text.repeat(p.times)',
    },
  ]);
  const config = (times: number) => `stages:\n  a: {}\n  b: { times: ${times} }\n`;
  await rig.write('pipeline.yaml', config(2));
  const first = await rig.run();
  expect(first.stages.map((s) => s.action)).toEqual(['ran', 'ran']);
  // Filling the run cache went through: no "outputs not kept in the run cache" note.
  expect(first.events.filter((e) => e.type === 'info')).toEqual([]);
  expect(await rig.read('artifacts/b/sub/out.txt')).toBe('HELLOHELLO');

  await rig.write('pipeline.yaml', config(3));
  await rig.run();
  expect(await rig.read('artifacts/b/sub/out.txt')).toBe('HELLOHELLOHELLO');

  await rig.write('pipeline.yaml', config(2));
  const back = await rig.run();
  expect(back.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'skipped'],
    ['b', 'restored'],
  ]);
  expect(await rig.counts()).toEqual({ a: 1, b: 2 });
  expect(await readdir(rig.path('artifacts/b'))).toEqual(['sub']);
  expect(await rig.read('artifacts/b/sub/out.txt')).toBe('HELLOHELLO');
  expect((await rig.run()).stages.map((s) => s.action)).toEqual(['skipped', 'skipped']);
});

test('--set takes one value: the word after it is a stage name', async () => {
  const { code, stdout, stderr } = await rig.cli(['run', '--set', 'a.note=x', 'b', '--dry']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  // Only b and its upstream a are planned; c, downstream of b, is not.
  expect(stdout).toBe('a  run: never run\nb  run: never run\n');
  expect(await rig.counts()).toEqual({ a: 0, b: 0, c: 0 });
});

test('Ctrl-C while waiting for another run returns interrupted at once, having written nothing', async () => {
  await rig.write('HANG_b', '');
  const first = rig.run();
  await until(() => rig.exists('STARTED_b'));
  const lockBefore = await rig.read('pipeline.lock');

  const controller = new AbortController();
  const events: PipelineEvent[] = [];
  const second = runPipeline(await rig.project(), { signal: controller.signal, onEvent: (e) => events.push(e) });
  await until(() => events.length > 0);
  expect(events).toEqual([{ type: 'waiting', pid: process.pid }]);
  controller.abort();

  // The first run hangs until RELEASE_b exists; only this safety net (for the test without the fix)
  // ever writes it before the second run has returned.
  let released = false;
  const safety = setTimeout(() => {
    released = true;
    void rig.write('RELEASE_b', '');
  }, 5000);
  const result = await second.finally(() => clearTimeout(safety));
  expect(released).toBe(false);
  expect(result.outcome).toBe('interrupted');
  expect(result.stages.map((s) => [s.stage, s.action])).toEqual([
    ['a', 'not-run'],
    ['b', 'not-run'],
    ['c', 'not-run'],
  ]);
  expect(events).toEqual([{ type: 'waiting', pid: process.pid }]);
  expect(await rig.counts()).toEqual({ a: 1, b: 1, c: 0 });
  expect(await rig.read('pipeline.lock')).toBe(lockBefore);
  // The first run still holds the project, and finishes normally once released.
  expect(rig.exists('artifacts/.run.lock')).toBe(true);

  await rig.write('RELEASE_b', '');
  expect((await first).outcome).toBe('success');
  expect(Object.keys(parseLock(await rig.read('pipeline.lock')).stages)).toEqual(['a', 'b', 'c']);
});

test('a staging folder left by a killed run is removed by the next run', async () => {
  await rig.run();
  // What a SIGKILLed run leaves: its stage's staging folder with a partial output.
  await mkdir(rig.path('artifacts/.staging/b-0badf00d'), { recursive: true });
  await writeFile(rig.path('artifacts/.staging/b-0badf00d/out.txt'), 'partial');
  const next = await rig.run();
  expect(next.stages.map((s) => s.action)).toEqual(['skipped', 'skipped', 'skipped']);
  expect(rig.exists('artifacts/.staging/b-0badf00d')).toBe(false);
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLO');
});

test('an unknown stage is named once with the stages listed once', async () => {
  const { code, stderr } = await rig.cli(['run', 'nosuch']);
  expect(code).toBe(2);
  expect(stderr).toBe('pipeline run: unknown stage "nosuch" (stages: a, b, c)\n');
});

test('an unknown key far from any valid one is followed by the keys the stage takes, once', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  b: { zzzzzzzz: 3 }\n');
  const fromFile = await rig.cli(['run']);
  expect(fromFile.code).toBe(2);
  expect(fromFile.stderr.split('\n')[0]).toBe('pipeline.yaml:2:8: unknown key b.zzzzzzzz (b takes: times)');

  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 3 }\n');
  const fromSet = await rig.cli(['run', '--set', 'b.zzzzzzzz=3']);
  expect(fromSet.code).toBe(2);
  expect(fromSet.stderr.split('\n')[0]).toBe('--set b.zzzzzzzz=3: unknown key b.zzzzzzzz (b takes: times)');
});

test('an unexpected error in a command prints one line and the DEBUG hint, exit 1, no stack', async () => {
  // A stage registry that exports no `stages`: no command expects this, so it reaches the CLI's boundary.
  await rig.write('js/empty.mjs', 'export const stage = {};\n');
  const env = { PIPELINE_STAGES: 'js/empty.mjs' };
  const { code, stdout, stderr } = await rig.cli(['run'], env);
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toBe('pipeline: js/empty.mjs does not export `stages` (an array of stages)\n(set DEBUG=pipeline for the stack trace)\n');

  const debug = await rig.cli(['status'], { ...env, DEBUG: 'pipeline' });
  expect(debug.code).toBe(1);
  expect(debug.stderr).toMatch(/^pipeline: Error: js\/empty\.mjs does not export `stages` \(an array of stages\)\n {4}at /);
});

test('a non-Error thrown by stage code is printed as its text on one line, exit 1', async () => {
  await rig.write(
    'js/odd.mjs',
    `import { paramsOf } from '${PARAMS_URL}';
export const stages = [{
  name: 'odd',
  description: 'declares its inputs by throwing',
  module: import.meta.url,
  params: paramsOf({}),
  inputs: () => { throw 'no inputs today'; },
  outputs: () => ['out.txt'],
  async run() {},
}];
`,
  );
  await rig.write('pipeline.yaml', 'stages:\n  odd: {}\n');
  const { code, stdout, stderr } = await rig.cli(['run'], { PIPELINE_STAGES: 'js/odd.mjs' });
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toBe('pipeline: no inputs today\n(set DEBUG=pipeline for the stack trace)\n');
});
