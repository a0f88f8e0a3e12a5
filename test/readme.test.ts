// The README shows the project's files as they are: its pipeline.yaml block is the committed
// pipeline.yaml, line for line (the README's error examples quote its line numbers).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));

test("the README's pipeline.yaml block is the project's pipeline.yaml", async () => {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const block = /## pipeline\.yaml\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBe(await readFile(join(repo, 'pipeline.yaml'), 'utf8'));
});

test("the README's located config errors point at the lines pipeline.yaml has", async () => {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const lines = (await readFile(join(repo, 'pipeline.yaml'), 'utf8')).split('\n');
  const cited = [...readme.matchAll(/^pipeline\.yaml:(\d+):\d+: (\w+)\./gm)];
  expect(cited.length).toBeGreaterThan(0);
  for (const [, line, stage] of cited) expect(lines[Number(line) - 1]).toMatch(new RegExp(`^  ${stage}:`));
});
