// Run from a subfolder, every command finds pipeline.yaml upward, as git, npm and dvc do (issue 13,
// item 6); relative paths in --set stay relative to pipeline.yaml; the no-op fast path finds it too.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../pipeline/cli/main.ts';
import { findProjectRoot } from '../pipeline/runner/discover.mjs';
import { tryNoopFastPath } from '../pipeline/runner/fast-noop.mjs';
import { minutesProject, utc, type Minute } from './data-helpers.ts';
import { runCli } from './helpers/cli.ts';
import { Rig } from './rig.ts';

function sink(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

describe('from a folder below the project', () => {
  let rig: Rig;
  let below: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    rig = await Rig.ranChain();
    below = rig.path('notebooks/drafts');
    await mkdir(below, { recursive: true });
    // Absolute: PIPELINE_STAGES, like any path in the environment, is relative to the working folder.
    env = { NO_COLOR: '1', PIPELINE_STAGES: rig.path(rig.indexFile()) };
  });
  afterAll(() => rig.cleanup());

  const cli = async (argv: readonly string[]) => {
    const [stdout, stderr] = [sink(), sink()];
    const code = await main(argv, { stdout, stderr, cwd: below, env });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  test('status, run, dag and inspect find pipeline.yaml two folders up', async () => {
    expect(await cli(['status'])).toEqual({ code: 0, stdout: 'a: fresh\nb: fresh\nc: fresh\n', stderr: '' });
    expect(await cli(['run'])).toMatchObject({ code: 0, stdout: '✓ a  skipped (unchanged)\n✓ b  skipped (unchanged)\n✓ c  skipped (unchanged)\n' });
    expect((await cli(['dag'])).stdout).toContain('◀ data/in.txt');
    const inspect = await cli(['inspect', 'b/out.txt']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain('HELLOHELLO');
    // The artifacts are the project's, not a new artifacts/ folder here.
    expect(rig.exists('notebooks/drafts/artifacts')).toBe(false);
  });

  test('a run from below writes the project\'s lock and artifacts', async () => {
    const { code } = await cli(['run', '--set', 'b.times=3']);
    expect(code).toBe(0);
    expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLOHELLO');
    expect(await rig.read('pipeline.lock')).toContain('times: 3');
    expect(rig.exists('notebooks/drafts/pipeline.lock')).toBe(false);
  });

  test('the no-op fast path answers from below too', async () => {
    await cli(['run']);
    await sleep(60); // the witness vouches only for files older than the run
    await cli(['run']);
    const out = sink();
    expect(await tryNoopFastPath(['run'], { cwd: below, env, out })).toBe(true);
    expect(out.text).toBe('✓ a  skipped (unchanged)\n✓ b  skipped (unchanged)\n✓ c  skipped (unchanged)\n');
  });
});

test('with no pipeline.yaml here or above, the error says where it looked', async () => {
  const nowhere = await mkdtemp(join(tmpdir(), 'pipeline-nowhere-'));
  try {
    if (findProjectRoot(nowhere) !== undefined) return; // someone left a pipeline.yaml in a folder above the temp dir
    const { code, stderr } = await runCli(['status'], nowhere);
    expect(code).toBe(2);
    expect(stderr).toBe(`pipeline.yaml: not found in ${nowhere} or any folder above it; run in a project folder or pass --config FILE\n`);
  } finally {
    await rm(nowhere, { recursive: true, force: true });
  }
});

test('a relative path in --set is relative to pipeline.yaml, wherever the command runs', async () => {
  const day = '2021-03-01';
  const minutes: Minute[] = [0, 1, 2].map((m) => ({ t: utc(day, 12, m), wp: 50_000 + m }));
  const { root } = await minutesProject(minutes);
  try {
    await mkdir(join(root, 'data', 'more'), { recursive: true });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(root, 'pipeline.yaml'), 'stages:\n  ingest: { source: sample }\n');
    // From data/more/, "data/minutes.csv" means <root>/data/minutes.csv, not data/more/data/minutes.csv.
    const ran = await runCli(['run', 'ingest', '--set', 'ingest.source=data/minutes.csv'], join(root, 'data', 'more'));
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const report = JSON.parse(await readFile(join(root, 'artifacts', 'ingest', 'report.json'), 'utf8')) as { rows_kept: number };
    expect(report.rows_kept).toBe(3);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
