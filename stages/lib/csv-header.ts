// The first line of a plain or gzipped CSV, read without loading the file: the header is checked here,
// before DuckDB, because read_csv with explicit columns would silently rename whatever it finds.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

/** The first line (without line ending and BOM), or null for an empty file. */
export async function readFirstLine(path: string): Promise<string | null> {
  if ((await stat(path)).size === 0) return null;
  const raw = createReadStream(path, { highWaterMark: 64 * 1024 });
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let text = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      text += chunk.toString('latin1');
      const end = text.indexOf('\n');
      if (end >= 0) {
        text = text.slice(0, end);
        break;
      }
      if (text.length > 1 << 20) break;
    }
  } finally {
    raw.destroy();
    stream.destroy();
  }
  text = text.replace(/\r$/, '').replace(/^\u00EF\u00BB\u00BF/, '');
  return text.trim() === '' ? null : text;
}
