// What `pipeline inspect` knows about artifacts, as data: the listing of all artifacts and the detail
// of one. Rendering to aligned text, CSV or JSON is left to the command; freshness comes in from the
// runner's status so this module only needs an artifacts list and files on disk.
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { arrowFooter, arrowRows, scanArrow, type ArrowValue, type ColumnStats } from './arrowFile.ts';
import { ArtifactError, fileFacts, pngSize, svgSize, type Artifact, type ArtifactFormat } from './artifacts.ts';
import { splitCsvFields } from '../../stages/lib/data/csv-header.ts';

export interface Freshness {
  readonly fresh: boolean;
  readonly reasons: readonly string[];
}

export type FreshnessByStage = ReadonlyMap<string, Freshness>;

export interface ListedArtifact {
  readonly stage: string;
  readonly file: string;
  readonly path: string;
  readonly format: ArtifactFormat;
  readonly exists: boolean;
  /** Arrow row count, from the footer; undefined for other formats. */
  readonly rows?: number;
  /** Bytes on disk; null when the file does not exist (0 would be an empty file). */
  readonly size: number | null;
  readonly fresh: boolean;
  readonly reasons: readonly string[];
}

function freshnessOf(artifact: Artifact, exists: boolean, freshness: FreshnessByStage): Freshness {
  if (!exists) return { fresh: false, reasons: ['not produced yet'] };
  return freshness.get(artifact.stage) ?? { fresh: false, reasons: ['status unknown'] };
}

export async function listArtifactFacts(
  artifacts: readonly Artifact[],
  freshness: FreshnessByStage,
  root: string,
): Promise<ListedArtifact[]> {
  return Promise.all(
    artifacts.map(async (artifact) => {
      const facts = await fileFacts(artifact.path);
      let rows: number | undefined;
      if (facts.exists && artifact.format === 'arrow') {
        try {
          rows = (await arrowFooter(artifact.path)).rows;
        } catch {
          rows = undefined; // a damaged file is still listed; inspecting it says what is wrong
        }
      }
      const { fresh, reasons } = freshnessOf(artifact, facts.exists, freshness);
      return {
        stage: artifact.stage,
        file: artifact.file,
        path: relative(root, artifact.path),
        format: artifact.format,
        exists: facts.exists,
        rows,
        size: facts.exists ? facts.size : null,
        fresh,
        reasons,
      };
    }),
  );
}

/** Rows [from, to) of a file, 0-based. */
export interface RowRange {
  readonly from: number;
  readonly to: number;
}

export interface ArrowDetail {
  readonly kind: 'arrow';
  readonly rows: number;
  readonly batches: number;
  readonly columns: readonly (ColumnStats & { readonly nullCount: number })[];
  /** The first rows asked for (--head). */
  readonly head: RowRange;
  /** The last rows asked for (--tail). */
  readonly tail: RowRange;
  /** Streams rows of the file as display values, a few thousand at a time: any number of rows prints
   *  in bounded memory. */
  readRows(range: RowRange, onRows: (rows: readonly (readonly ArrowValue[])[]) => Promise<void> | void): Promise<void>;
}

export interface JsonDetail {
  readonly kind: 'json';
  readonly content: unknown;
}

export interface ImageDetail {
  readonly kind: 'image';
  readonly width?: number;
  readonly height?: number;
}

export interface CsvDetail {
  readonly kind: 'csv';
  readonly header: readonly string[];
  /** Data rows (lines after the header); undefined when the file is too big to count cheaply. */
  readonly rows?: number;
}

export interface TextDetail {
  readonly kind: 'text';
  readonly content: string;
}

export interface BinaryDetail {
  readonly kind: 'binary';
}

export type Detail = ArrowDetail | JsonDetail | ImageDetail | CsvDetail | TextDetail | BinaryDetail;

export interface ArtifactDetail {
  readonly artifact: ListedArtifact;
  readonly detail: Detail;
}

/** CSV files up to this size get their lines counted (a few hundred ms at most). */
export const CSV_COUNT_LIMIT = 128 * 1024 * 1024;

async function countLines(path: string): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let at = chunk.indexOf(0x0a);
    while (at !== -1) {
      lines++;
      at = chunk.indexOf(0x0a, at + 1);
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1] ?? last;
  }
  // A last line without a newline still counts.
  return last === 0x0a ? lines : lines + 1;
}

async function firstLine(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const end = text.search(/\r?\n/);
    return end === -1 ? text : text.slice(0, end);
  } finally {
    await file.close();
  }
}

async function detailOf(artifact: Artifact, size: number, options: { head: number; tail: number }): Promise<Detail> {
  switch (artifact.format) {
    case 'arrow': {
      const footer = await arrowFooter(artifact.path);
      const scan = await scanArrow(artifact.path, { head: 0, tail: 0 });
      return {
        kind: 'arrow',
        rows: footer.rows,
        batches: footer.batches,
        columns: scan.columns.map((c, i) => ({ ...c, nullCount: footer.columns[i]?.nullCount ?? 0 })),
        head: { from: 0, to: Math.min(options.head, footer.rows) },
        tail: { from: Math.max(0, footer.rows - options.tail), to: footer.rows },
        readRows: (range, onRows) => (range.to > range.from ? arrowRows(artifact.path, range.from, range.to, onRows, footer) : Promise.resolve()),
      };
    }
    case 'json': {
      const text = await readFile(artifact.path, 'utf8');
      try {
        return { kind: 'json', content: JSON.parse(text) as unknown };
      } catch (error) {
        throw new ArtifactError(`${artifact.path}: not valid JSON: ${(error as Error).message}`);
      }
    }
    case 'image': {
      if (artifact.file.toLowerCase().endsWith('.svg')) {
        return { kind: 'image', ...svgSize(await readFile(artifact.path, 'utf8')) };
      }
      const file = await open(artifact.path, 'r');
      try {
        const header = Buffer.alloc(24);
        await file.read(header, 0, 24, 0);
        return { kind: 'image', ...pngSize(header) };
      } finally {
        await file.close();
      }
    }
    case 'csv': {
      const header = splitCsvFields(await firstLine(artifact.path));
      if (size > CSV_COUNT_LIMIT) return { kind: 'csv', header };
      return { kind: 'csv', header, rows: Math.max(0, (await countLines(artifact.path)) - 1) };
    }
    case 'text':
      return { kind: 'text', content: await readFile(artifact.path, 'utf8') };
    case 'binary':
      return { kind: 'binary' };
  }
}

export async function inspectArtifact(
  artifact: Artifact,
  freshness: FreshnessByStage,
  root: string,
  options: { head: number; tail: number },
): Promise<ArtifactDetail> {
  const [listed] = await listArtifactFacts([artifact], freshness, root);
  if (!listed!.exists || listed!.size === null) return { artifact: listed!, detail: { kind: 'binary' } };
  return { artifact: listed!, detail: await detailOf(artifact, listed!.size, options) };
}
