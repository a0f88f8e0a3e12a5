// The committed pipeline.lock names the code this checkout holds. Any edit to a stage's code, a comment
// included, changes its code hash; a fresh clone's first `pipeline run` would then rewrite the lock, and
// `git status` would no longer be clean after the README's main command. The fix is to run `pipeline
// run` and commit pipeline.lock with the change.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { codeHash, ModuleGraph } from '../pipeline/runner/modules.ts';
import { stages } from '../stages/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// The graph's own cache goes to a temp file, not into this checkout's artifacts/.
const cacheFile = join(tmpdir(), `pipeline-lock-committed-${process.pid}.json`);
afterAll(() => rm(cacheFile, { force: true }));

test("every stage's code hash in the committed pipeline.lock is that of the code checked out", async () => {
  const lock = parseLock(await readFile(join(root, 'pipeline.lock'), 'utf8'));
  const graph = await ModuleGraph.open(cacheFile);
  const stale: string[] = [];
  for (const stage of stages) {
    const entry = lock.stages[stage.name];
    expect(entry, `pipeline.lock has no entry for ${stage.name}`).toBeDefined();
    const now = codeHash(await graph.closure(fileURLToPath(stage.module), { cwd: root }));
    if (now !== entry!.code) stale.push(stage.name);
  }
  expect(stale, `pipeline.lock is stale for ${stale.join(', ')}: run \`pipeline run\` and commit pipeline.lock`).toEqual([]);
});
