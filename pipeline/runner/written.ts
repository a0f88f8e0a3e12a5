// Outputs a stage wrote through the runner (StageContext.writer and writeFile): the bytes are hashed on
// their way to the file, so recording a big output (a 266 MB minute CSV, a folder of monthly Arrow
// parts) does not read it back. What is remembered is the hash with the file's stat right after it was
// closed, the stat cache's trust model: when the outputs are recorded, a file whose size, mtime and
// inode are still those is taken to hold the hashed bytes; any other is hashed from disk as before.
//
// writeFile writes a big file past the page cache (contract/direct-io.ts) where it can, and it also
// spares writing what is already there: when the stage's current artifact at the same
// path is vouched for by the stat cache (stamp unchanged since its hash was recorded) and has exactly
// the new bytes' hash, it is hard-linked into the staging folder instead of written. Same bytes, no new
// pages: on this kind of machine, touching fresh memory for 250 MB of page cache costs seconds.
import { createHash } from 'node:crypto';
import { link, open, rm, stat } from 'node:fs/promises';
import { AlignedBuffer, writeDirect } from '../contract/direct-io.ts';
import type { OutputWriter } from '../contract/stage.ts';
import type { KnownFile } from './folder.ts';
import type { Sha256 } from './hash.ts';

/** The file of the current artifacts that holds exactly `hash` (size `size`) at this output path, if any. */
export type SameBytes = (path: string, hash: Sha256, size: number) => Promise<string | undefined>;

/** Files of at least this size are written past the page cache (see contract/direct-io.ts). */
const DIRECT_BYTES = 1 << 20;

export class WrittenOutputs {
  readonly #files = new Map<string, KnownFile>();
  /** Aligned buffers for direct writes, one per write in flight. */
  readonly #buffers: AlignedBuffer[] = [];
  /** Direct I/O was refused here once: the rest go through the cache. */
  #direct = true;

  constructor(private readonly sameBytes: SameBytes = async () => undefined) {}

  /** A writer of the file at `path` (absolute): created or truncated now. */
  async writer(path: string): Promise<OutputWriter> {
    this.#files.delete(path);
    const handle = await open(path, 'w');
    const hash = createHash('sha256');
    let size = 0;
    let closed = false;
    return {
      write: async (bytes) => {
        if (closed) throw new Error(`${path}: written after close()`);
        hash.update(bytes);
        size += bytes.byteLength;
        await writeAll(handle, bytes);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await handle.close();
        await this.#remember(path, size, hash.digest('hex') as Sha256);
      },
    };
  }

  /** Writes `bytes` (one buffer, or chunks in order) to `path` whole, or links the current artifact that holds exactly them. */
  async writeFile(path: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.#files.delete(path);
    const chunks = bytes instanceof Uint8Array ? [bytes] : bytes;
    const digest = createHash('sha256');
    let size = 0;
    for (const chunk of chunks) {
      digest.update(chunk);
      size += chunk.byteLength;
    }
    const hash = digest.digest('hex') as Sha256;
    const same = await this.sameBytes(path, hash, size);
    await rm(path, { force: true });
    if (same !== undefined) {
      try {
        await link(same, path);
        await this.#remember(path, size, hash);
        return;
      } catch {
        // Another file system, or it just went away: write it.
      }
    }
    if (this.#direct && size >= DIRECT_BYTES) {
      const buffer = this.#buffers.pop() ?? new AlignedBuffer();
      try {
        if (await writeDirect(path, chunks, size, buffer)) {
          await this.#remember(path, size, hash);
          return;
        }
        this.#direct = false;
      } finally {
        this.#buffers.push(buffer);
      }
    }
    const handle = await open(path, 'w');
    try {
      await writeChunks(handle, chunks);
    } finally {
      await handle.close();
    }
    await this.#remember(path, size, hash);
  }

  async #remember(path: string, size: number, hash: Sha256): Promise<void> {
    const st = await stat(path);
    // Only what was written here: anything else writing the same path meanwhile changed size or stamp.
    if (st.size === size) this.#files.set(path, { size, hash, trusted: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino } });
  }

  /** What was written at `path`, with the stat its hash is trusted for. */
  known(path: string): KnownFile | undefined {
    return this.#files.get(path);
  }

  /** Still the bytes hashed on the way (same size, mtime and inode)? Then their hash. */
  async hashIfUnchanged(path: string): Promise<Sha256 | undefined> {
    const known = this.#files.get(path);
    if (!known?.trusted) return undefined;
    const st = await stat(path).catch(() => undefined);
    const t = known.trusted;
    return st && st.size === t.size && st.mtimeMs === t.mtimeMs && st.ino === t.ino ? known.hash : undefined;
  }
}

/** Writes the chunks in order, as few system calls as the kernel takes (writev, resumed after a short write). */
async function writeChunks(handle: import('node:fs/promises').FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  let pending = chunks.filter((chunk) => chunk.byteLength > 0);
  while (pending.length > 0) {
    // At most IOV_MAX (1024) buffers a call.
    const batch = pending.slice(0, 1024);
    let { bytesWritten } = await handle.writev(batch);
    let done = 0;
    while (done < batch.length && bytesWritten >= batch[done]!.byteLength) bytesWritten -= batch[done++]!.byteLength;
    const rest = done < batch.length ? [batch[done]!.subarray(bytesWritten), ...batch.slice(done + 1)] : [];
    pending = [...rest, ...pending.slice(batch.length)];
  }
}

async function writeAll(handle: import('node:fs/promises').FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.byteLength; ) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.byteLength - at);
    at += bytesWritten;
  }
}
