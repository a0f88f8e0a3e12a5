// batch_size and learning_rate from pipeline.yaml reach the trainer (not just the report's config echo).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trainInto, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;

beforeAll(async () => {
  // 23 training pairs (targets 1..23 of 30 days, 6 test days, lookback 1).
  fixture = await writeFixture({ count: 30, testDays: 6, lookback: 1 });
});
afterAll(() => fixture.cleanup());


it('batch_size 7 trains in ceil(rows / 7) steps per epoch', async () => {
  const { report } = await trainInto(fixture, 'batch-7', { epochs: 3, batch_size: 7 });
  expect(fixture.trainTargets).toHaveLength(23);
  // 23 rows: 4 batches of up to 7 rows (5 with the default batch of 5).
  expect(report.steps).toBe(3 * 4);
});

it('learning_rate 0.01 gives other weights than 0.001', async () => {
  const slow = await trainInto(fixture, 'lr-0.001', { epochs: 2, learning_rate: 0.001 });
  const fast = await trainInto(fixture, 'lr-0.01', { epochs: 2, learning_rate: 0.01 });
  expect(slow.weights.byteLength).toBe(fast.weights.byteLength);
  expect(slow.weights.equals(fast.weights)).toBe(false);
});
