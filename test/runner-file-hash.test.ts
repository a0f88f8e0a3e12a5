// A file's sha256, and the sha256 of its first bytes taken in the same read (how a grown source is
// recognised), against node's sha256 of the same bytes in one piece: at every prefix that matters for
// a read in 1 MiB chunks (none, inside the first chunk, at and around a chunk's end, the whole file).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sha256File, sha256FileAndPrefix, StatCache } from '../pipeline/runner/hash.ts';

const MIB = 1 << 20;
const bytes = randomBytes(2 * MIB + 12_345);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let dir: string;
let path: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-hash-'));
  path = join(dir, 'data.csv');
  await writeFile(path, bytes);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('the whole file', async () => {
  expect(await sha256File(path)).toBe(sha(bytes));
  const empty = join(dir, 'empty');
  await writeFile(empty, '');
  expect(await sha256File(empty)).toBe(sha(new Uint8Array()));
});

test('the whole file and a prefix in one read, at every chunk boundary', async () => {
  for (const prefix of [0, 1, 1000, MIB - 1, MIB, MIB + 1, 2 * MIB, bytes.length - 1, bytes.length]) {
    const result = await sha256FileAndPrefix(path, prefix);
    expect(result.hash, `prefix ${prefix}`).toBe(sha(bytes));
    expect(result.prefix, `prefix ${prefix}`).toBe(sha(bytes.subarray(0, prefix)));
  }
  // Longer than the file: no prefix hash.
  expect((await sha256FileAndPrefix(path, bytes.length + 1)).prefix).toBeUndefined();
});

test('a prefix of a file the stat cache knows: only those bytes are read', async () => {
  const stat = await StatCache.open(join(dir, 'stat.json'));
  // Hashed once (remembered when not racily clean), then asked for prefixes of the known file.
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect((await stat.state(path))?.hash).toBe(sha(bytes));
  for (const prefix of [0, MIB - 7, MIB, 2 * MIB + 1]) {
    expect((await stat.state(path, prefix))?.prefix, `prefix ${prefix}`).toBe(sha(bytes.subarray(0, prefix)));
  }
});
