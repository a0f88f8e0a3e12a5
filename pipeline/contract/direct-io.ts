// Big files written and read past the page cache (O_DIRECT, where the platform has it), for the
// monthly minute parts: the runner's writeFile writes them so, and aggregate reads them so.
//
// Why: on a VM that hands free memory back to its host (this project's machines: Firecracker with free
// page reporting), every page the page cache takes must first be faulted in again by the host, and a
// new 250 MB file is written at 60–140 MB/s instead of 2 GB/s; past the cache it goes at 1.5–2 GB/s in
// either state (reads alike). The data moves from and to page-aligned memory (WebAssembly memory is
// allocated in whole pages), reused from file to file. Where O_DIRECT is missing or refused (macOS,
// tmpfs, a file system without it), the caller writes or reads through the cache as before: the bytes
// on disk are the same either way.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Alignment of memory, file offsets and lengths: a page, which covers every common block size. */
const BLOCK = 4096;
const WASM_PAGE = 65536;
const O_DIRECT = (constants as Record<string, number | undefined>).O_DIRECT;

const roundUp = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** Page-aligned memory, grown as needed and used again from file to file (one file at a time). */
export class AlignedBuffer {
  readonly #memory = new WebAssembly.Memory({ initial: 1 });

  /** A page-aligned view of at least `size` bytes (rounded up to whole blocks); valid until the next call. */
  view(size: number): Uint8Array {
    const bytes = Math.max(BLOCK, roundUp(size));
    const have = this.#memory.buffer.byteLength;
    if (bytes > have) this.#memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
    return new Uint8Array(this.#memory.buffer, 0, bytes);
  }
}

function refused(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP';
}

/**
 * Writes the chunks (in order, `size` bytes in all) to `path` past the page cache. Returns false, having
 * written nothing the caller must keep, when direct I/O is not to be had here: the caller then writes
 * the file through the cache (which truncates whatever this left).
 */
export async function writeDirect(path: string, chunks: readonly Uint8Array[], size: number, buffer: AlignedBuffer): Promise<boolean> {
  if (O_DIRECT === undefined) return false;
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | O_DIRECT, 0o666);
  } catch (error) {
    if (refused(error)) return false;
    throw error;
  }
  try {
    const view = buffer.view(size);
    let at = 0;
    for (const chunk of chunks) {
      view.set(chunk, at);
      at += chunk.byteLength;
    }
    // Whole blocks go out; the file is cut back to its size after.
    view.fill(0, size);
    for (let done = 0; done < view.byteLength; ) {
      const { bytesWritten } = await handle.write(view, done, view.byteLength - done, done);
      if (bytesWritten <= 0) return false;
      done += bytesWritten;
    }
    await handle.truncate(size);
    return true;
  } catch (error) {
    if (refused(error)) return false;
    throw error;
  } finally {
    await handle.close();
  }
}

/** The whole content of `path` read past the page cache into `buffer` (a view), or undefined when direct I/O is not to be had. */
export async function readDirect(path: string, buffer: AlignedBuffer): Promise<Uint8Array | undefined> {
  if (O_DIRECT === undefined) return undefined;
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | O_DIRECT);
  } catch (error) {
    if (refused(error)) return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const view = buffer.view(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(view, done, view.byteLength - done, done);
      if (bytesRead === 0) throw new Error(`${path}: shorter than its size (${size} bytes)`);
      done += bytesRead;
    }
    return view.subarray(0, size);
  } catch (error) {
    if (refused(error)) return undefined;
    throw error;
  } finally {
    await handle.close();
  }
}
