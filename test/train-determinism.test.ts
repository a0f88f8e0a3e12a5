import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10, lookback: 2 });
});
afterAll(() => fixture.cleanup());

async function trainInto(name: string, params: Record<string, unknown>) {
  const outDir = join(fixture.root, name);
  const { ctx } = await contextFor(train, fixture.root, params, outDir);
  await train.run(ctx);
  return {
    weights: await readFile(join(outDir, 'weights.bin')),
    history: await readFile(join(outDir, 'history.json'), 'utf8'),
  };
}

it('the same data, params and seed give bit-identical weights and history', async () => {
  const params = { epochs: 2, dropout: 0.25, seed: 7 };
  const first = await trainInto('first', params);
  const second = await trainInto('second', params);
  expect(first.weights.equals(second.weights)).toBe(true);
  expect(second.history).toBe(first.history);
});

it('another seed gives other weights', async () => {
  const a = await trainInto('seed-1', { epochs: 2, seed: 1 });
  const b = await trainInto('seed-2', { epochs: 2, seed: 2 });
  expect(a.weights.equals(b.weights)).toBe(false);
});
