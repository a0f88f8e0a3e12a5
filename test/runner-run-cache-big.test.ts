// Big outputs (1 MiB and more) are not copied into the run cache after their run: the run cache takes
// them when a later run replaces them, if the stat cache still vouches for their bytes. Going back to an
// earlier param value still restores them.
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { DEFER_BYTES } from '../pipeline/runner/cache.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => {
  rig = await Rig.withInput();
  // 'hello\n' repeated: 6 bytes a copy, so 200000 copies a time are over a megabyte.
  await rig.setStages([{ name: 'big', inputs: [{ path: 'data/in.txt' }], params: `{ times: positiveInt(1, 'copies') }`, transform: 'text.repeat(p.times * 200000)' }]);
  return rig;
});

const content = (times: number) => 'hello\n'.repeat(times * 200000);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const objects = async () => readdir(rig.path('artifacts/.cache/objects')).catch(() => [] as string[]);
const times = (n: number) => rig.write('pipeline.yaml', `stages:\n  big: { times: ${n} }\n`);

test('a big output is moved into the run cache when replaced, and restored from there when its params come back', async () => {
  expect(content(1).length).toBeGreaterThanOrEqual(DEFER_BYTES);
  await times(1);
  await rig.run();
  // The current artifact is the only copy.
  expect(await objects()).not.toContain(sha256(content(1)));

  await times(2);
  await rig.run();
  expect(await objects()).toContain(sha256(content(1)));
  expect(await objects()).not.toContain(sha256(content(2)));
  expect(await rig.read('artifacts/big/out.txt')).toBe(content(2));

  await times(1);
  const back = await rig.run();
  expect(back.stages.map((s) => s.action)).toEqual(['restored']);
  expect(await rig.counts()).toEqual({ big: 2 });
  expect(await rig.read('artifacts/big/out.txt')).toBe(content(1));
  // The outputs it replaced went into the cache in turn.
  expect(await objects()).toContain(sha256(content(2)));
});

test('a big output edited in place is not taken into the run cache when replaced', async () => {
  await times(1);
  await rig.run();
  await writeFile(rig.path('artifacts/big/out.txt'), content(1).replace('hello', 'HELLO'));
  await times(2);
  await rig.run();
  const edited = sha256(content(1).replace('hello', 'HELLO'));
  expect(await objects()).not.toContain(edited);
  expect(await objects()).not.toContain(sha256(content(1)));
  // Going back recomputes: nothing in the cache claims to be the times=1 output.
  await times(1);
  const back = await rig.run();
  expect(back.stages.map((s) => s.action)).toEqual(['ran']);
  expect(await rig.read('artifacts/big/out.txt')).toBe(content(1));
});
