import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

describe('pipeline inspect with bad input', () => {
  test('an unknown stage exits 2 and lists the valid stages', async () => {
    const { code, stdout, stderr } = await runCli(['inspect', 'agregate'], fixture.root);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('pipeline inspect: no stage "agregate"; stages: sample, ingest, aggregate, scale, split, train, evaluate, forecast, backtest\n');
  });

  test('an unknown artifact exits 2 and lists the stage\'s artifacts', async () => {
    const { code, stderr } = await runCli(['inspect', 'aggregate/weekly'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'pipeline inspect: stage aggregate has no artifact "weekly"; its artifacts: aggregate/daily.arrow, aggregate/report.json\n',
    );
  });

  test('a stale artifact is shown with a warning line and fresh: false', async () => {
    const { code, stdout, stderr } = await runCli(['inspect', 'evaluate/predictions', '--json'], fixture.root);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^warning: evaluate is stale \(.*never run.*\)/);
    expect(JSON.parse(stdout)).toMatchObject({ fresh: false });
  });

  test('an artifact not produced yet exits 1 and says which stage makes it', async () => {
    const { code, stderr } = await runCli(['inspect', 'scale/scaled'], fixture.root);
    expect(code).toBe(1);
    expect(stderr).toBe('pipeline inspect: artifacts/scale/scaled.arrow does not exist yet; "pipeline run scale" produces it\n');
  });

  test('a negative --head is a usage error', async () => {
    const { code, stderr } = await runCli(['inspect', 'aggregate/daily', '--head', '-1'], fixture.root);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--head must be a non-negative integer, got -1/);
  });

  test('a damaged Arrow file is reported with its path', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await writeFile(join(fixture.root, 'artifacts/split/test.arrow'), 'not arrow at all');
    const { code, stderr } = await runCli(['inspect', 'split/test'], fixture.root);
    expect(code).toBe(1);
    expect(stderr).toMatch(/split\/test\.arrow: not an Arrow IPC file/);
  });
});

describe('colour', () => {
  test('the stale warning is plain text under NO_COLOR and yellow when colour is forced', async () => {
    const plain = await runCli(['inspect', 'evaluate/metrics'], fixture.root, { NO_COLOR: '1' });
    expect(plain.stderr).toMatch(/^warning: evaluate is stale/);
    expect(plain.stderr + plain.stdout).not.toContain('\u001b[');
    const forced = await runCli(['inspect', 'evaluate/metrics'], fixture.root, { NO_COLOR: '', FORCE_COLOR: '1' });
    expect(forced.stderr).toMatch(/^\u001b\[33mwarning:\u001b\[39m evaluate is stale/);
  });
});
