// One damaged Arrow file must not take every query down with it: only a query that names it fails.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
  // An empty file where split/test.arrow belongs (`: > artifacts/split/test.arrow`).
  await writeFile(join(fixture.root, 'artifacts/split/test.arrow'), '');
});
afterAll(() => fixture.cleanup());

describe('pipeline query with a damaged Arrow artifact', () => {
  test('a query that does not name it still answers', async () => {
    const one = await runCli(['query', 'SELECT 1 AS one', '--csv'], fixture.root);
    expect(one).toMatchObject({ code: 0, stdout: 'one\n1\n' });
    const daily = await runCli(['query', 'SELECT count(*) AS n FROM aggregate.daily', '--csv'], fixture.root);
    expect(daily.code).toBe(0);
    expect(daily.stdout).toBe(`n\n${fixture.days.length}\n`);
  });

  test('a query that names it exits 1 with the file and what is wrong', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELECT * FROM split.test'], fixture.root);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pipeline query: .*artifacts\/split\/test\.arrow: not an Arrow IPC file \(only 0 bytes\)\n$/);
  });
});
