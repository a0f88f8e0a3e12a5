// Reading a stage's JSON input against a zod schema, with errors that name the file and the key.
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';

export async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not readable JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.length > 0 ? `key "${issue.path.join('.')}": ` : ''}${issue.message}`);
  }
  return parsed.data;
}
