// A short-lived in-memory DuckDB for one stage run, pinned to UTC, plus raw typed-array access to result
// vectors (the bulk path: no per-value JS objects).
import { DuckDBInstance, quotedIdentifier, quotedString, type DuckDBConnection, type DuckDBDataChunk } from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';
import { availableParallelism } from 'node:os';

export { quotedIdentifier, quotedString };

export interface DuckDBOptions {
  /** Worker threads; default: the machine's cores, at most 4 (CSV parsing gains little beyond). */
  readonly threads?: number;
  /** DuckDB's own memory budget, e.g. '256MB'. */
  readonly memoryLimit?: string;
}

/** Runs `use` with a fresh connection and always closes connection and database afterwards. */
export async function withDuckDB<T>(options: DuckDBOptions, use: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? Math.min(4, availableParallelism())),
    memory_limit: options.memoryLimit ?? '256MB',
  });
  try {
    const connection = await instance.connect();
    try {
      await pinUtc(connection);
      return await use(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * A column of a chunk as doubles. The bindings hand out a copy of DuckDB's buffer (a fresh Buffer per call:
 * they are built without external buffers), so it stays valid after the chunk, and each call costs a copy.
 */
export function chunkFloat64(chunk: DuckDBDataChunk, column: number): Float64Array {
  const bytes = bindings.vector_get_data(bindings.data_chunk_get_vector(chunk.chunk, column), chunk.rowCount * 8);
  return new Float64Array(bytes.buffer, bytes.byteOffset, chunk.rowCount);
}

/** The column's validity as bytes in Arrow's layout (LSB first, bit set = not null), or null when all valid. */
export function chunkValidity(chunk: DuckDBDataChunk, column: number): Uint8Array | null {
  const words = Math.ceil(chunk.rowCount / 64);
  const bytes = bindings.vector_get_validity(bindings.data_chunk_get_vector(chunk.chunk, column), words * 8);
  return bytes ? new Uint8Array(bytes.buffer, bytes.byteOffset, words * 8) : null;
}

/**
 * Daily buckets are UTC: with the ICU extension (bundled with @duckdb/node-api, loaded once connected, so
 * it can't go in the instance options) the session zone follows the process's TZ, so it is set here. A
 * build without ICU has no time zones at all: every timestamp is already UTC and there is nothing to pin.
 */
async function pinUtc(connection: DuckDBConnection): Promise<void> {
  try {
    await connection.run(`SET TimeZone = ${quotedString('UTC')}`);
  } catch (error) {
    if (!(error instanceof Error && /\bicu\b/i.test(error.message))) throw error;
  }
}
