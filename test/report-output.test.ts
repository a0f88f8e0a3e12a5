// `report --output` (issue 13, item 4): a folder is refused before any work, and no error leaves a
// temp file behind. It used to print "EISDIR … rename" and leave .data.<pid>.tmp in the project root.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeAtomically } from '../pipeline/inspect/report.ts';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

/** Every file under the project whose name says it is a temp file. */
async function tempFiles(dir = fixture.root): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await tempFiles(path)));
    else if (/\.tmp$/.test(entry.name)) found.push(relative(fixture.root, path));
  }
  return found;
}

test('--output naming a folder is refused up front with exit 2, and nothing is written', async () => {
  const before = await readdir(join(fixture.root, 'data'));
  const { code, stdout, stderr } = await runCli(['report', '--output', 'data'], fixture.root);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe('pipeline report: --output must name a file, and data is a directory; e.g. --output data/report.html\n');
  expect(await readdir(join(fixture.root, 'data'))).toEqual(before);
  expect(await tempFiles()).toEqual([]);
});

test('a path that cannot be written is one line with exit 1, and no temp file stays', async () => {
  await writeFile(join(fixture.root, 'notes'), 'a file, not a folder\n');
  const { code, stderr } = await runCli(['report', '--output', 'notes/report.html'], fixture.root);
  expect(code).toBe(1);
  expect(stderr).toMatch(/^pipeline report: cannot write notes\/report\.html \((ENOTDIR|EEXIST)[^\n]*\)\n$/);
  expect(await tempFiles()).toEqual([]);
});

test('writeAtomically removes its temp file when the rename fails', async () => {
  // A non-empty folder where the file should go: the temp file is written, the rename is refused.
  const target = join(fixture.root, 'occupied');
  await mkdir(join(target, 'inside'), { recursive: true });
  await expect(writeAtomically(target, '<html></html>')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);
  expect(await tempFiles()).toEqual([]);
});

test('--output to a new file in a new folder writes the page there', async () => {
  const { code, stdout } = await runCli(['report', '--output', 'out/page.html'], fixture.root);
  expect(code).toBe(0);
  expect(stdout).toMatch(/^wrote out\/page\.html \(/);
  expect(await readdir(join(fixture.root, 'out'))).toEqual(['page.html']);
  expect(await tempFiles()).toEqual([]);
});
