// Big files past the page cache (pipeline/contract/direct-io.ts): the bytes on disk are exactly those
// written, whatever their length against the 4096-byte blocks, and reading gives them back.
import { constants } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { AlignedBuffer, readDirect, writeDirect } from '../pipeline/contract/direct-io.ts';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'pipeline-direct-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Bytes whose every position differs from its neighbours', so a shifted or padded copy shows. */
const pattern = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);

test('files of every length around a block are written and read back byte for byte, in chunks, from reused buffers', async () => {
  const buffer = new AlignedBuffer();
  const reader = new AlignedBuffer();
  for (const size of [1, 4095, 4096, 4097, 3 * 4096 + 17, 1 << 20, (1 << 20) + 1]) {
    const bytes = pattern(size, size % 251);
    // Uneven chunks, as the Arrow writer hands them over.
    const chunks = [bytes.subarray(0, Math.floor(size / 3)), bytes.subarray(Math.floor(size / 3), size - 1), bytes.subarray(size - 1)];
    const path = join(dir, `f-${size}`);
    const direct = await writeDirect(path, chunks, size, buffer);
    // On Linux with a file system that takes O_DIRECT (ext4 here) the files go past the cache.
    if (constants.O_DIRECT !== undefined && direct) {
      expect((await stat(path)).size).toBe(size);
      expect(new Uint8Array(await readFile(path))).toEqual(bytes);
      expect(await readDirect(path, reader)).toEqual(bytes);
    } else {
      expect(await readDirect(path, reader)).toBeUndefined();
    }
  }
});
