// .gitignore keeps node_modules and artifacts out of commits whether they are folders or symlinks to one
// (`node_modules/`, with a slash, matches only a folder: a symlinked node_modules could be committed).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';

const GITIGNORE = fileURLToPath(new URL('../.gitignore', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipeline-gitignore-'));
  mkdirSync(join(dir, 'repo'));
  execFileSync('git', ['init', '-q'], { cwd: join(dir, 'repo') });
  copyFileSync(GITIGNORE, join(dir, 'repo', '.gitignore'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What `git status` would offer to add, untracked files listed one by one. */
function untracked(): string[] {
  const out = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: join(dir, 'repo'), encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((line) => line.slice(3)).sort();
}

test('node_modules and artifacts as symlinks are ignored', () => {
  for (const name of ['node_modules', 'artifacts']) {
    mkdirSync(join(dir, `${name}-target`));
    writeFileSync(join(dir, `${name}-target`, 'file'), 'x');
    symlinkSync(join(dir, `${name}-target`), join(dir, 'repo', name));
  }
  expect(untracked()).toEqual(['.gitignore']);
});

test('node_modules and artifacts as folders are ignored, at any depth', () => {
  for (const path of ['node_modules/pkg', 'artifacts/ingest', 'bench/x/node_modules/pkg', 'sub/artifacts/a']) {
    mkdirSync(join(dir, 'repo', path), { recursive: true });
    writeFileSync(join(dir, 'repo', path, 'file'), 'x');
  }
  writeFileSync(join(dir, 'repo', 'kept.ts'), 'x');
  expect(untracked()).toEqual(['.gitignore', 'kept.ts']);
});
