// The first line of a plain or gzipped CSV, read without loading the file: the header is checked here,
// before DuckDB, because read_csv with explicit columns would silently rename whatever it finds. Also the
// slow, exact look at a file that error messages need (a line's fields, the line where something is).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

function openText(path: string) {
  const raw = createReadStream(path, { highWaterMark: 64 * 1024 });
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  return { raw, stream };
}

/**
 * The first line (without line ending and BOM): '' when it is blank (a header may still follow), null
 * for an empty file.
 */
export async function readFirstLine(path: string): Promise<string | null> {
  if ((await stat(path)).size === 0) return null;
  const { raw, stream } = openText(path);
  let text = '';
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
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
  if (bytes === 0) return null;
  text = text.replace(/\r$/, '').replace(/^\u00EF\u00BB\u00BF/, '');
  return text.trim() === '' ? '' : text;
}

/** The fields of one CSV line, `"` quoted (a doubled `""` inside quotes is one quote). */
export function splitCsvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (line[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/**
 * The first line after the header (1-based, as DuckDB counts) whose fields pass `test`, or null. Reads
 * the whole file line by line: for error messages only.
 */
export async function findLine(path: string, test: (fields: string[]) => boolean): Promise<{ line: number; fields: string[] } | null> {
  const { raw, stream } = openText(path);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number++;
      if (number === 1 || line.trim() === '') continue;
      const fields = splitCsvFields(line);
      if (test(fields)) return { line: number, fields };
    }
    return null;
  } finally {
    lines.close();
    raw.destroy();
    stream.destroy();
  }
}
