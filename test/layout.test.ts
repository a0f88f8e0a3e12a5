// The tree tells the architecture: each folder of pipeline/ and stages/ says what it is, the README's
// Development tree names every folder, and imports only go down (cli → inspect → runner → contract;
// stages see only the contract and their own helpers).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(join(repo, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(repo, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

function foldersUnder(dir: string): string[] {
  return readdirSync(join(repo, dir))
    .map((name) => join(dir, name))
    .filter((path) => statSync(join(repo, path)).isDirectory())
    .flatMap((path) => [path, ...foldersUnder(path)]);
}

/** Every relative module a source file names: static imports, re-exports, import() and new URL(). */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(repo, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bnew URL\(\s*)['"](\.\.?\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(repo, resolve(dirname(join(repo, file)), s)).split('\\').join('/'));
}

const rules: readonly { room: string; may: readonly string[] }[] = [
  { room: 'pipeline/contract/', may: ['pipeline/contract/'] },
  { room: 'pipeline/runner/', may: ['pipeline/runner/', 'pipeline/contract/', 'stages/index.ts'] },
  { room: 'pipeline/inspect/', may: ['pipeline/inspect/', 'pipeline/runner/', 'pipeline/contract/', 'stages/lib/data/'] },
  { room: 'pipeline/cli/', may: ['pipeline/cli/', 'pipeline/inspect/', 'pipeline/runner/', 'pipeline/contract/'] },
  { room: 'stages/', may: ['stages/', 'pipeline/contract/'] },
];

const sources = [...filesUnder('pipeline'), ...filesUnder('stages')].filter((f) => /\.(ts|mts|mjs)$/.test(f));

test('every source file lives in a room with rules', () => {
  const homeless = sources.filter((f) => !rules.some((r) => f.startsWith(r.room)));
  expect(homeless).toEqual([]);
});

test('imports only go down: cli → inspect → runner → contract, stages → contract', () => {
  const wrong: string[] = [];
  for (const file of sources) {
    const rule = rules.find((r) => file.startsWith(r.room))!;
    for (const target of relativeImports(file)) {
      if (!rule.may.some((allowed) => target.startsWith(allowed))) wrong.push(`${file} -> ${target}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('each folder of pipeline/ and stages/ opens with a README saying what it is', () => {
  const folders = ['pipeline', 'stages', ...foldersUnder('pipeline'), ...foldersUnder('stages')];
  const without = folders.filter((folder) => {
    try {
      return readFileSync(join(repo, folder, 'README.md'), 'utf8').trim().length === 0;
    } catch {
      return true;
    }
  });
  expect(without).toEqual([]);
});

test("the README's Development tree names every folder of pipeline/ and stages/", () => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Development'));
  const tree = section.slice(section.indexOf('```text'), section.indexOf('```', section.indexOf('```text') + 7));
  // The tree is indented: a child folder is written relative to its parent's line ("  lib/data/").
  const named = new Set<string>();
  const parents: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^( *)([\w./-]+\/)\s/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 2;
    parents.length = depth;
    const path = [...parents, m[2]!].join('');
    parents.push(m[2]!);
    named.add(path.replace(/\/$/, ''));
    // "lib/data/" also names "lib/"
    const parts = path.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) named.add(parts.slice(0, i).join('/'));
  }
  const folders = ['pipeline', 'stages', ...foldersUnder('pipeline'), ...foldersUnder('stages')];
  expect(folders.filter((f) => !named.has(f))).toEqual([]);
});
