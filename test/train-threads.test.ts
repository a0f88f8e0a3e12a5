// A training step split over worker threads (stages/lib/model/batch-team.ts) computes the same loss and
// gradient bit for bit as on one thread, and training gives the same weights on 1, 2 or 3 threads: no
// sum is split between threads, so the reduction order never depends on their number.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FusedLstm, paramLayout } from '../stages/lib/model/lstm.ts';
import { seededRandom } from '../stages/lib/model/batch-order.ts';
import { trainFused } from '../stages/lib/model/trainer.ts';
import { readPairs, type Pairs } from '../stages/lib/data/pairs.ts';
import { writeFixture, type Fixture } from './model-helpers.ts';

const spec = { lookback: 3, units: 9, layers: 2, activation: 'tanh', dropout: 0.2 } as const;

let fixture: Fixture;
let pairs: Pairs;
beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10, lookback: 3 });
  pairs = await readPairs(`${fixture.root}/artifacts/split/train.arrow`);
});
afterAll(() => fixture.cleanup());

it('one step on 3 threads equals the step on 1 thread, bit for bit', async () => {
  const size = paramLayout(spec).size;
  const random = seededRandom(11);
  const theta = Float32Array.from({ length: size }, () => random() - 0.5);
  const batch = 11;
  const x = Float64Array.from({ length: batch * spec.lookback }, () => random());
  const y = Float64Array.from({ length: batch }, () => random());
  const one = new FusedLstm(spec, batch);
  const three = new FusedLstm(spec, batch, { threads: 3 });
  try {
    expect(await three.ready()).toBe(3);
    // A full batch, a partial one, and one with fewer rows than threads.
    for (const rows of [batch, 7, 2]) {
      const want = new Float64Array(size);
      const got = new Float64Array(size);
      const wantLoss = one.lossAndGradient(theta, x, y, rows, want, seededRandom(rows));
      const loss = three.lossAndGradient(theta, x, y, rows, got, seededRandom(rows));
      expect(three.lastThreads).toBe(Math.min(3, rows));
      expect(Object.is(loss, wantLoss)).toBe(true);
      expect(Array.from(got, (g, i) => Object.is(g, want[i]))).not.toContain(false);
      expect(want.filter((g) => g !== 0).length).toBeGreaterThan(size / 2);
    }
  } finally {
    await three.dispose();
  }
});

it('training on 1, 2 and 3 threads gives the same weights and losses', async () => {
  const start = Float32Array.from({ length: paramLayout(spec).size }, (_, i) => 0.4 * Math.sin(i + 1));
  const options = { epochs: 40, batchSize: 16, learningRate: 0.01, shuffle: true, seed: 3 };
  const runs = [];
  for (const threads of [1, 2, 3]) {
    const theta = Float32Array.from(start);
    const result = await trainFused(spec, theta, pairs, { ...options, threads, awaitThreads: true });
    runs.push({ theta, loss: result.loss, threads: result.threads });
  }
  expect(runs[1]!.theta).toEqual(runs[0]!.theta);
  expect(runs[2]!.theta).toEqual(runs[0]!.theta);
  expect(runs[1]!.loss).toEqual(runs[0]!.loss);
  expect(runs[2]!.loss).toEqual(runs[0]!.loss);
  expect(runs[0]!.theta).not.toEqual(start);
  expect(runs.map((r) => r.threads)).toEqual([1, 2, 3]);
});
