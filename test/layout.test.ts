// The tree tells the architecture: each folder of pipeline/ and stages/ says what it is, the README's
// Development tree names every folder, and imports only go down (cli → inspect → runner → contract;
// stages see only the contract and their own helpers).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { analyse } from '../pipeline/runner/modules.ts';

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

/**
 * Every relative file a source names. What loads at run time is read by the runner's own module-graph
 * analysis (esbuild + acorn, pipeline/runner/modules.ts): static, side-effect and dynamic imports (a
 * template literal too), re-exports, require(), import.meta.resolve() and new URL(…, import.meta.url),
 * never text in comments or strings. Type-only imports vanish at run time but still tie the rooms
 * together: TypeScript's own scanner (preProcessFile) lists them.
 */
async function relativeSpecifiers(file: string, text: string): Promise<string[]> {
  const { dependencies } = await analyse(file, text);
  const types = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  return [...new Set([...dependencies.map((d) => d.specifier), ...types])].filter((s) => /^\.\.?\//.test(s));
}

async function relativeImports(file: string): Promise<string[]> {
  const specs = await relativeSpecifiers(file, readFileSync(join(repo, file), 'utf8'));
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

test('imports only go down: cli → inspect → runner → contract, stages → contract', async () => {
  const wrong: string[] = [];
  for (const file of sources) {
    const rule = rules.find((r) => file.startsWith(r.room))!;
    for (const target of await relativeImports(file)) {
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

describe('the import check itself', () => {
  test('sees every way a module names another, and nothing in comments or strings', async () => {
    const source = [
      "import { a } from './named.ts';",
      'import "./side-effect.ts";',
      "import type { T } from '../only-a-type.ts';",
      "export * from './re-exported.ts';",
      'const lazy = await import(`./template.ts`);',
      "const later = await import('./dynamic.ts');",
      "const cjs = require('./required.cjs');",
      "const where = import.meta.resolve('./resolved.ts');",
      "const worker = new URL('./worker.mjs', import.meta.url);",
      "import { readFile } from 'node:fs/promises';",
      "// import './in-a-comment.ts'",
      "const text = \"import './in-a-string.ts'\";",
      'export const used = [a, lazy, later, cjs, where, worker, readFile, text] as unknown as T;',
    ].join('\n');
    expect((await relativeSpecifiers('pipeline/runner/example.ts', source)).sort()).toEqual(
      ['./named.ts', './side-effect.ts', '../only-a-type.ts', './re-exported.ts', './template.ts', './dynamic.ts', './required.cjs', './resolved.ts', './worker.mjs'].sort(),
    );
  });

  test("reads the project's files: the train stage's body names the contract (a type) and its helpers", async () => {
    const targets = await relativeImports('stages/run/train.ts');
    expect(targets).toContain('pipeline/contract/stage.ts');
    expect(targets).toContain('stages/lib/model/cost.ts');
    expect(targets).toContain('stages/train.ts');
  });

  test('each of the forms a regular expression over `from` and `import(` missed is caught on its own', async () => {
    for (const [source, specifier] of [
      ["import './x.ts';", './x.ts'],
      ['await import(`../y.ts`);', '../y.ts'],
      ["require('./z.cjs');", './z.cjs'],
      ["import.meta.resolve('../w.ts');", '../w.ts'],
    ] as const) {
      expect(await relativeSpecifiers('stages/example.ts', source), source).toEqual([specifier]);
    }
  });
});
