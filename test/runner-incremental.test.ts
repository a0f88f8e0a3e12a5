// The runner's incremental runs and folder outputs, with cheap fake stages: when a rerunning stage is
// handed its previous run (`ctx.previous`), and when it must start from scratch; folder outputs recorded
// as manifests, files kept by hard link, a downstream stage told which files changed, the run cache and
// gc with folders.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tryNoopFastPath } from '../pipeline/runner/fast-noop.mjs';
import { readLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest } from './rig.ts';

/** The stage body's record of what it was handed: one JSON line per run. */
const LOG_PREVIOUS = `appendFileSync(join(ctx.root, 'previous.log'), JSON.stringify(ctx.previous ? ctx.previous.inputs : null) + '\\n');`;

/** What each run of the rig's incremental stages was handed, in order. */
async function handed(rig: Rig): Promise<unknown[]> {
  return (await rig.read('previous.log')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
}

async function lastHanded(rig: Rig): Promise<unknown> {
  return (await handed(rig)).at(-1);
}

describe('an incremental stage gets its previous run only when its input just grew', () => {
  let rig: Rig;
  rigPerTest(async () => {
    rig = await Rig.create();
    await rig.write('data/in.txt', 'hello\n');
    await rig.write('node_modules/fakelib/package.json', '{ "name": "fakelib", "version": "1.0.0" }\n');
    await rig.setStages([
      {
        name: 'a',
        inputs: [{ path: 'data/in.txt' }],
        params: `{ note: text('none', 'ignored by the code') }`,
        libraries: ['fakelib'],
        incremental: true,
        write: `${LOG_PREVIOUS}\n    writeFileSync(ctx.output('out.txt'), text.toUpperCase());`,
      },
    ]);
    await rig.write('pipeline.yaml', 'stages: {}\n');
    await rig.run();
    return rig;
  });

  /** The source as a new file with `extra` appended, as a daily download rewrites it. */
  const grow = (extra = 'world\n') => rig.read('data/in.txt').then((text) => rig.write('data/in.txt', text + extra));

  test('rows appended: status says so and the stage is told where the old bytes end', async () => {
    expect(await lastHanded(rig)).toBeNull();
    await grow();
    expect((await rig.cli(['status'])).stdout).toBe('a: input appended (data/in.txt)\n');
    const result = await rig.run();
    expect(result.stages[0]!.reasons).toEqual(['input appended (data/in.txt)']);
    expect(await lastHanded(rig)).toEqual([{ kind: 'appended', previousSize: 6, size: 12 }]);
    expect(await rig.read('artifacts/a/out.txt')).toBe('HELLO\nWORLD\n');
    // The lock keeps the size that the next refresh is measured from.
    expect((await readLock(rig.root))!.stages.a!.inputSizes).toEqual({ 'data/in.txt': 12 });
    await grow('again\n');
    await rig.run();
    expect(await lastHanded(rig)).toEqual([{ kind: 'appended', previousSize: 12, size: 18 }]);
  });

  test('an edit before the end, a shorter file or the same size are changes, not appends', async () => {
    for (const text of ['jello\nworld\n', 'hell\n', 'jello\n']) {
      await rig.write('data/in.txt', text);
      expect((await rig.cli(['status'])).stdout).toBe('a: input changed (data/in.txt)\n');
      await rig.run();
      expect(await lastHanded(rig)).toBeNull();
      await rig.write('data/in.txt', 'hello\n');
      await rig.run();
    }
  });

  test('--force, changed code, params or library versions, or damaged outputs: a run from scratch', async () => {
    const cases: [string, () => Promise<void>][] = [
      ['force', async () => {}],
      ['code', () => rig.editStage('a')],
      ['params', () => rig.write('pipeline.yaml', 'stages:\n  a: { note: other }\n')],
      ['library', () => rig.write('node_modules/fakelib/package.json', '{ "name": "fakelib", "version": "2.0.0" }\n')],
      ['output modified', () => rig.write('artifacts/a/out.txt', 'EDITED')],
      ['output missing', () => rm(rig.path('artifacts/a/out.txt'))],
    ];
    for (const [what, change] of cases) {
      await grow(`${what}\n`);
      await change();
      const result = await rig.run({ force: what === 'force' });
      expect(result.stages[0]!.action, what).toBe('ran');
      expect(await lastHanded(rig), what).toBeNull();
      expect(await rig.read('artifacts/a/out.txt'), what).toBe((await rig.read('data/in.txt')).toUpperCase());
    }
    // And with nothing else changed, the next append is incremental again.
    await grow();
    await rig.run();
    expect(await lastHanded(rig)).toMatchObject([{ kind: 'appended' }]);
  });

  test('a lock recorded without input sizes (an older lock) gives a run from scratch', async () => {
    const lock = await rig.read('pipeline.lock');
    await rig.write('pipeline.lock', lock.replace(/\n {4}input_sizes:\n {6}data\/in\.txt: \d+/, ''));
    expect(await rig.read('pipeline.lock')).not.toContain('input_sizes');
    await grow();
    expect((await rig.cli(['status'])).stdout).toBe('a: input changed (data/in.txt)\n');
    await rig.run();
    expect(await lastHanded(rig)).toBeNull();
  });
});

describe('folder outputs', () => {
  // p writes one file per line of the source into parts/; on an append it keeps the files of the old
  // lines (hard links), writes only the new ones and declares the folder appended to. q reads the folder
  // and is told which files changed, and whether it only grew since q last read it.
  const P_WRITE = `${LOG_PREVIOUS}
    const lines = text.split('\\n').filter(Boolean);
    const name = (i) => 'parts/' + String(i).padStart(3, '0') + '.txt';
    let first = 0;
    const change = ctx.previous?.inputs[0];
    if (change?.kind === 'appended') {
      first = readFileSync(ctx.inputs[0], 'utf8').slice(0, change.previousSize).split('\\n').filter(Boolean).length;
      for (let i = 0; i < first; i++) await ctx.previous.keep(name(i));
      ctx.previous.appended('parts/');
    }
    for (let i = first; i < lines.length; i++) writeFileSync(ctx.output(name(i)), lines[i]);
    writeFileSync(ctx.output('count.txt'), String(lines.length));`;
  const Q_WRITE = `${LOG_PREVIOUS}
    const dir = ctx.inputs[0];
    writeFileSync(ctx.output('seen.txt'), readdirSync(dir).sort().map((n) => n + '=' + readFileSync(join(dir, n), 'utf8')).join(','));`;

  let rig: Rig;
  rigPerTest(async () => {
    rig = await Rig.create();
    await rig.write('data/in.txt', 'one\ntwo\n');
    await rig.setStages([
      { name: 'p', inputs: [{ path: 'data/in.txt' }], params: `{ tag: text('x', 'changes nothing') }`, outputs: ['parts/', 'count.txt'], incremental: true, write: P_WRITE },
      { name: 'q', inputs: [{ stage: 'p', file: 'parts/' }], outputs: ['seen.txt'], incremental: true, write: Q_WRITE },
    ]);
    await rig.write('pipeline.yaml', 'stages: {}\n');
    await rig.run();
    return rig;
  });

  test('a folder is one output in the lock: its size, its files and the hash of its manifest', async () => {
    const lock = (await readLock(rig.root))!;
    expect(lock.stages.p!.outputs['artifacts/p/parts/']).toMatchObject({ size: 6, files: 2 });
    expect(lock.stages.q!.inputs['artifacts/p/parts/']).toBe(lock.stages.p!.outputs['artifacts/p/parts/']!.hash);
    expect(await rig.read('artifacts/q/seen.txt')).toBe('000.txt=one,001.txt=two');
    expect((await rig.run()).stages.map((s) => s.action)).toEqual(['skipped', 'skipped']);
  });

  test('an append keeps the old files by hard link and tells the reader which files changed', async () => {
    const before = await stat(rig.path('artifacts/p/parts/000.txt'));
    await rig.write('data/in.txt', 'one\ntwo\nthree\n');
    const result = await rig.run();
    expect(result.stages.map((s) => s.action)).toEqual(['ran', 'ran']);
    expect(await handed(rig)).toEqual([null, null, [{ kind: 'appended', previousSize: 8, size: 14 }], [{ kind: 'files', changed: [], added: ['002.txt'], removed: [], appended: true }]]);
    // The same file (inode), not a copy: carried over from the previous run.
    const after = await stat(rig.path('artifacts/p/parts/000.txt'));
    expect(after.ino).toBe(before.ino);
    expect(await rig.read('artifacts/q/seen.txt')).toBe('000.txt=one,001.txt=two,002.txt=three');
    expect((await readLock(rig.root))!.stages.p!.outputs['artifacts/p/parts/']).toMatchObject({ size: 11, files: 3 });
    expect((await rig.run()).stages.map((s) => s.action)).toEqual(['skipped', 'skipped']);
  });

  test('a file of the folder edited by hand makes the stage rerun from scratch', async () => {
    await writeFile(rig.path('artifacts/p/parts/001.txt'), 'TWO');
    expect((await rig.cli(['status'])).stdout).toBe('p: output modified (artifacts/p/parts/)\nq: input changed (artifacts/p/parts/); upstream stale (p)\n');
    await rig.write('data/in.txt', 'one\ntwo\nthree\n');
    await rig.run();
    // p started over: q is told which files changed, but not that the folder only grew.
    expect((await handed(rig)).slice(2)).toEqual([null, [{ kind: 'files', changed: [], added: ['002.txt'], removed: [], appended: false }]]);
    expect(await rig.read('artifacts/p/parts/001.txt')).toBe('two');
  });

  test('a folder comes back whole from the run cache', async () => {
    await rig.run({ set: ['p.tag=y'] });
    const result = await rig.run();
    expect(result.stages[0]!.action).toBe('restored');
    expect(await rig.read('artifacts/p/parts/000.txt')).toBe('one');
    expect(await rig.read('artifacts/p/parts/001.txt')).toBe('two');
    expect((await rig.run()).stages.map((s) => s.action)).toEqual(['skipped', 'skipped']);
  });

  test('gc keeps the manifest a reader last saw, so its next run can still name the changed files', async () => {
    await rig.write('data/in.txt', 'one\ntwo\nthree\n');
    await rig.run({ targets: ['p'] });
    expect((await rig.cli(['gc'])).code).toBe(0);
    await rig.run();
    expect(await lastHanded(rig)).toEqual([{ kind: 'files', changed: [], added: ['002.txt'], removed: [], appended: true }]);
  });

  test('appended through several runs of the writer alone; a run from scratch between breaks the chain', async () => {
    for (const text of ['one\ntwo\nthree\n', 'one\ntwo\nthree\nfour\n']) {
      await rig.write('data/in.txt', text);
      await rig.run({ targets: ['p'] });
    }
    await rig.run();
    expect(await lastHanded(rig)).toEqual([{ kind: 'files', changed: [], added: ['002.txt', '003.txt'], removed: [], appended: true }]);

    // An edit (not an append): p starts over, then appends again; q last read the folder before the edit.
    await rig.write('data/in.txt', 'one\nTWO\nthree\nfour\n');
    await rig.run({ targets: ['p'] });
    await rig.write('data/in.txt', 'one\nTWO\nthree\nfour\nfive\n');
    await rig.run({ targets: ['p'] });
    await rig.run();
    expect(await lastHanded(rig)).toEqual([{ kind: 'files', changed: ['001.txt'], added: ['004.txt'], removed: [], appended: false }]);
  });

  test('the no-op answer watches the files inside a folder', async () => {
    await rig.cli(['run']);
    await sleep(60);
    await rig.cli(['run']);
    const answer = () => tryNoopFastPath(['run'], { cwd: rig.root, env: { NO_COLOR: '1', PIPELINE_STAGES: rig.indexFile() }, out: { write: () => true } as never });
    expect(await answer()).toBe(true);
    await writeFile(rig.path('artifacts/p/parts/001.txt'), 'TWO');
    expect(await answer()).toBe(false);
    await rm(rig.path('artifacts/p/parts/001.txt'));
    expect(await answer()).toBe(false);
    expect(JSON.parse(await readFile(join(rig.root, 'artifacts', '.cache', 'noop.json'), 'utf8')).files.map((f: unknown[]) => f[0])).toContain(rig.path('artifacts/p/parts/'));
  });
});
