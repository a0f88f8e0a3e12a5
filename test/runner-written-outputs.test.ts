// Outputs written through the runner (ctx.writer, ctx.writeFile) are hashed on the way, and a file the
// current artifacts already hold is linked instead of written again. Hashes here are computed with
// node:crypto over the bytes, independently of the runner.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { hashFolder } from '../pipeline/runner/folder.ts';
import { WrittenOutputs } from '../pipeline/runner/written.ts';
import { parseLock } from '../pipeline/runner/lock.ts';
import { runPipeline } from '../pipeline/runner/executor.ts';
import { loadProject } from '../pipeline/runner/project.ts';
import { realProject } from './helpers/realProject.ts';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'pipeline-written-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

test('a file written in chunks is recorded with the sha256 of its bytes, trusted while its stat is unchanged', async () => {
  const written = new WrittenOutputs();
  const path = join(dir, 'out.csv');
  const out = await written.writer(path);
  await out.write(Buffer.from('a,b\n'));
  await out.write(Buffer.from('1,2\n'));
  await out.close();
  expect(await readFile(path, 'utf8')).toBe('a,b\n1,2\n');
  expect(written.known(path)?.hash).toBe(sha256('a,b\n1,2\n'));
  expect(await written.hashIfUnchanged(path)).toBe(sha256('a,b\n1,2\n'));
  // Changed by other means afterwards (another size): not vouched for any more, so it is hashed from disk.
  await writeFile(path, 'a,b\n1,2\n3,4\n');
  expect(await written.hashIfUnchanged(path)).toBeUndefined();
});

test('writeFile links the file the current artifacts hold when it has exactly the bytes, and writes otherwise', async () => {
  const current = join(dir, 'current.arrow');
  await writeFile(current, 'same bytes');
  const sameBytes = async (_path: string, hash: string) => (hash === sha256('same bytes') ? current : undefined);
  const written = new WrittenOutputs(sameBytes);
  await written.writeFile(join(dir, 'a.arrow'), Buffer.from('same bytes'));
  await written.writeFile(join(dir, 'b.arrow'), Buffer.from('other bytes'));
  expect((await stat(join(dir, 'a.arrow'))).ino).toBe((await stat(current)).ino);
  expect((await stat(join(dir, 'b.arrow'))).ino).not.toBe((await stat(current)).ino);
  expect(await readFile(join(dir, 'b.arrow'), 'utf8')).toBe('other bytes');
  // A folder of such files is recorded without reading them: the manifest carries the hashes of the bytes.
  const known = new Map([
    ['a.arrow', written.known(join(dir, 'a.arrow'))!],
    ['b.arrow', written.known(join(dir, 'b.arrow'))!],
  ]);
  const folder = await hashFolder(dir, known);
  expect(folder?.manifest['a.arrow']?.hash).toBe(sha256('same bytes'));
  expect(folder?.manifest['b.arrow']?.hash).toBe(sha256('other bytes'));
});

test('a forced rerun of ingest links every monthly part it computes again, and records the same lock', async () => {
  const root = await realProject('stages:\n  sample: { days: 70 }\n');
  try {
    const run = async (force: boolean) => {
      const project = await loadProject({ cwd: root });
      const result = await runPipeline(project, { targets: ['ingest'], force });
      expect(result.outcome).toBe('success');
    };
    await run(false);
    const part = join(root, 'artifacts', 'ingest', 'minutes.arrow', '2022-01.arrow');
    const before = await stat(part);
    const bytes = await readFile(part);
    const lock = parseLock(await readFile(join(root, 'pipeline.lock'), 'utf8'));
    await run(true);
    const after = await stat(part);
    expect(after.ino).toBe(before.ino);
    expect(await readFile(part)).toEqual(bytes);
    expect(parseLock(await readFile(join(root, 'pipeline.lock'), 'utf8')).stages.ingest?.outputs).toEqual(lock.stages.ingest?.outputs);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}, 60_000);
