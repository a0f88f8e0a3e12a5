import { afterAll, beforeAll, expect, it } from 'vitest';
import { trainInto, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10, lookback: 2 });
});
afterAll(() => fixture.cleanup());


it('the same data, params and seed give bit-identical weights and history', async () => {
  const params = { epochs: 2, dropout: 0.25, seed: 7 };
  const first = await trainInto(fixture, 'first', params);
  const second = await trainInto(fixture, 'second', params);
  expect(first.weights.equals(second.weights)).toBe(true);
  expect(second.history).toBe(first.history);
});

it('another seed gives other weights', async () => {
  const a = await trainInto(fixture, 'seed-1', { epochs: 2, seed: 1 });
  const b = await trainInto(fixture, 'seed-2', { epochs: 2, seed: 2 });
  expect(a.weights.equals(b.weights)).toBe(false);
});
