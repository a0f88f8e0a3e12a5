// A damaged metrics.json is an error that names the file, not a stack trace or a silent "missing".
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
  await writeFile(join(fixture.root, 'artifacts/evaluate/metrics.json'), '{"model": {"rmse": 61.25,');
});
afterAll(() => fixture.cleanup());

describe('a metrics.json that is not valid JSON', () => {
  test('pipeline metrics exits 1 naming the file', async () => {
    for (const args of [['metrics'], ['metrics', '--json'], ['metrics', '--diff']]) {
      const { code, stdout, stderr } = await runCli(args, fixture.root);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^pipeline metrics: artifacts\/evaluate\/metrics\.json: not valid JSON \(/m);
    }
  });

  test('pipeline report exits 1 naming the file instead of reporting the metrics as missing', async () => {
    const { code, stdout, stderr } = await runCli(['report'], fixture.root);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pipeline report: .*artifacts\/evaluate\/metrics\.json: not valid JSON \(/m);
  });
});
