// The artifacts a project declares: every output of every active stage, where it lives and what kind
// of file it is. Inspect, query and report all start from this list, so an artifact is addressed the
// same way everywhere: `stage/file` on the command line, `stage.name` in SQL.
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { PipelineParams, Stage } from '../contract/stage.ts';

/** An artifact file that exists but cannot be read as what its name says (truncated, corrupt…). */
export class ArtifactError extends Error {}

export type ArtifactFormat = 'arrow' | 'json' | 'image' | 'csv' | 'text' | 'binary';

export interface Artifact {
  readonly stage: string;
  /** File name inside artifacts/<stage>/, e.g. daily.arrow (a folder output's name, without its "/"). */
  readonly file: string;
  /** File name without its extension: the table name in SQL (aggregate.daily). */
  readonly name: string;
  readonly path: string;
  readonly format: ArtifactFormat;
}

const formats: Record<string, ArtifactFormat> = {
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.json': 'json',
  '.png': 'image',
  '.svg': 'image',
  '.csv': 'csv',
  '.txt': 'text',
};

export function formatOf(file: string): ArtifactFormat {
  return formats[extname(file).toLowerCase()] ?? 'binary';
}

export function listArtifacts(
  artifactsDir: string,
  stages: readonly Pick<Stage, 'name' | 'outputs'>[],
  params: PipelineParams,
): Artifact[] {
  return stages.flatMap((stage) =>
    stage.outputs(params).map((declared) => {
      // A folder output (`minutes.arrow/`) is one artifact, in the format of the files it holds.
      const file = declared.replace(/\/+$/, '');
      return {
        stage: stage.name,
        file,
        name: file.slice(0, file.length - extname(file).length),
        path: join(artifactsDir, stage.name, file),
        format: formatOf(file),
      };
    }),
  );
}

export type Selection =
  | { readonly kind: 'stage'; readonly stage: string; readonly artifacts: readonly Artifact[] }
  | { readonly kind: 'artifact'; readonly artifact: Artifact }
  | { readonly kind: 'unknown-stage'; readonly stage: string; readonly valid: readonly string[] }
  | { readonly kind: 'unknown-artifact'; readonly stage: string; readonly name: string; readonly valid: readonly string[] };

/** Resolves `stage`, `stage/file.ext` or `stage/file` (also `stage.file`, as the SQL name). */
export function selectArtifacts(artifacts: readonly Artifact[], spec: string): Selection {
  const match = /^([^/.]+)(?:[/.](.+))?$/.exec(spec.trim()) ?? [];
  const stage = match[1] ?? spec;
  const name = match[2];
  const stages = [...new Set(artifacts.map((a) => a.stage))];
  const ofStage = artifacts.filter((a) => a.stage === stage);
  if (ofStage.length === 0) return { kind: 'unknown-stage', stage, valid: stages };
  if (name === undefined || name === '') return { kind: 'stage', stage, artifacts: ofStage };
  const artifact = ofStage.find((a) => a.file === name) ?? ofStage.find((a) => a.name === name);
  if (artifact) return { kind: 'artifact', artifact };
  return { kind: 'unknown-artifact', stage, name, valid: ofStage.map((a) => `${a.stage}/${a.file}`) };
}

export interface FileFacts {
  readonly exists: boolean;
  readonly size: number;
}

/** Whether an artifact is there, and its bytes (a folder's: all the files in it). */
export async function fileFacts(path: string): Promise<FileFacts> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) return { exists: s.isFile(), size: s.size };
    let size = 0;
    for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) size += (await stat(join(entry.parentPath, entry.name))).size;
    }
    return { exists: true, size };
  } catch {
    return { exists: false, size: 0 };
  }
}

/** Sizes in binary units, named as such: 1 KiB = 1024 bytes, 1 MiB = 1024 KiB (IEC 80000-13). */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Width and height from a PNG's IHDR chunk, which the format requires to come first. */
export function pngSize(header: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (header.length < 24 || signature.some((byte, i) => header[i] !== byte)) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Width and height attributes (or the viewBox) of an SVG's root element. */
export function svgSize(text: string): { width: number; height: number } | undefined {
  const root = /<svg\b[^>]*>/i.exec(text)?.[0];
  if (!root) return undefined;
  const attr = (name: string) => new RegExp(`\\s${name}\\s*=\\s*["']([\\d.]+)`, 'i').exec(root)?.[1];
  const width = attr('width');
  const height = attr('height');
  if (width && height) return { width: Number(width), height: Number(height) };
  const box = /viewBox\s*=\s*["']\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(root);
  return box ? { width: Number(box[1]), height: Number(box[2]) } : undefined;
}
