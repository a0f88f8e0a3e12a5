import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { formatLock, parseLock, readLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('pipeline.lock records params, input and output hashes with sizes, in pipeline order', async () => {
  const text = await rig.read('pipeline.lock');
  const doc = parse(text) as { version: number; stages: Record<string, Record<string, unknown>> };
  expect(doc.version).toBe(1);
  expect(Object.keys(doc.stages)).toEqual(['a', 'b', 'c']);
  const b = doc.stages.b!;
  // No timings: those are machine-local (artifacts/.cache/timings.json), see lock-reproducible.test.ts.
  expect(Object.keys(b)).toEqual(['fingerprint', 'code', 'params', 'libraries', 'inputs', 'outputs']);
  expect(b.params).toEqual({ times: 2 });
  expect(b.inputs).toEqual({ 'artifacts/a/out.txt': sha('HELLO') });
  expect(b.outputs).toEqual({ 'artifacts/b/out.txt': { size: 10, hash: sha('HELLOHELLO') } });
  expect(doc.stages.a!.inputs).toEqual({ 'data/in.txt': sha('hello\n') });
  // The code hash covers the module and every file it imports: the fake imports pipeline/contract/params.ts
  // by absolute URL (which imports only zod, a package), so the canonical JSON has two files, each keyed
  // by its path relative to the stage's folder.
  const source = await readFile(rig.path('stages/b.ts'), 'utf8');
  const paramsFile = fileURLToPath(new URL('../pipeline/contract/params.ts', import.meta.url));
  const files = { 'b.ts': sha(source), [relative(rig.path('stages'), paramsFile)]: sha(await readFile(paramsFile, 'utf8')) };
  const sorted = Object.fromEntries(Object.entries(files).sort(([x], [y]) => (x < y ? -1 : 1)));
  expect(b.code).toBe(sha(JSON.stringify(sorted)));
});

test('the lock text is stable: a no-op run leaves it byte for byte unchanged', async () => {
  const before = await rig.read('pipeline.lock');
  await rig.run();
  expect(await rig.read('pipeline.lock')).toBe(before);
  expect(formatLock((await readLock(rig.root))!, ['a', 'b', 'c'])).toBe(before);
});

test('parseLock rejects a damaged lock with a message saying what to do', () => {
  expect(() => parseLock('version: 1\nstages:\n  a:\n    fingerprint: xyz\n')).toThrow(
    /^pipeline\.lock: stages\.a\.fingerprint must be a 64-digit hex sha256; delete pipeline\.lock to start afresh$/,
  );
  expect(parseLock('version: 1\nstages:\n')).toEqual({ version: 1, stages: {} });
});
