// The report shows the parameters that produced each artifact, from pipeline.lock, and flags edits
// not run yet apart (issue 13, item 5). After `epochs: 40` without a run, it used to show epochs 40 in
// its configuration next to metrics and a loss chart of the 30-epoch model.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { formatLock, type Lock, type LockEntry } from '../pipeline/runner/lock.ts';
import { FIXTURE_CONFIG, makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
const text = (fragment: string) => fragment.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

beforeAll(async () => {
  fixture = await makeFixture();
  // The lock says train ran with 30 epochs and split with 30 test days; evaluate has never run.
  const entry = (params: Record<string, unknown>) =>
    ({ fingerprint: 'a'.repeat(64), code: 'b'.repeat(64), params, libraries: {}, inputs: {}, outputs: {} }) as unknown as LockEntry;
  const lock: Lock = {
    version: 1,
    stages: {
      split: entry({ test_days: 30, lookback: 1 }),
      train: entry({ units: 4, layers: 1, activation: 'sigmoid', dropout: 0, epochs: 30, batch_size: 5, learning_rate: 0.001, shuffle: true, seed: 42, spread_seeds: 'auto' }),
    },
  };
  await writeFile(join(fixture.root, 'pipeline.lock'), formatLock(lock));
  // Then the user edits pipeline.yaml and does not run.
  await writeFile(join(fixture.root, 'pipeline.yaml'), FIXTURE_CONFIG.replace('epochs: 30', 'epochs: 40'));
});
afterAll(() => fixture.cleanup());

async function report(...argv: string[]): Promise<string> {
  const { code } = await runCli(['report', ...argv], fixture.root);
  expect(code).toBe(0);
  return readFile(join(fixture.root, 'artifacts', 'report.html'), 'utf8');
}

const row = (html: string, stage: string, key: string) =>
  text(new RegExp(`<tr><td>${stage}</td><td>${key}</td>.*?</tr>`).exec(/<table id="config">[\s\S]*?<\/table>/.exec(html)![0])?.[0] ?? '');

test('each parameter shows the value its stage ran with, and an edit not run yet in a column of its own', async () => {
  const html = await report();
  expect(row(html, 'train', 'epochs')).toBe('train epochs 30 40');
  expect(row(html, 'train', 'units')).toBe('train units 4 —');
  expect(row(html, 'split', 'test_days')).toBe('split test_days 30 —');
  // A stage that never ran has no value that made anything: its parameter is pending as such.
  expect(row(html, 'aggregate', 'gaps')).toBe('aggregate gaps — ffill (not run yet)');
  expect(text(/<p class="banner" id="pending-edits">[\s\S]*?<\/p>/.exec(html)![0])).toBe(
    'Edits not run yet: train.epochs 30 → 40. Everything in this report was made with the values in the "value" column; pipeline run applies the edits.',
  );
});

test('with the edit passed as --set, or once the lock agrees, nothing is pending', async () => {
  const html = await report('--set', 'train.epochs=30');
  expect(row(html, 'train', 'epochs')).toBe('train epochs 30 —');
  expect(html).not.toContain('id="pending-edits"');
});
