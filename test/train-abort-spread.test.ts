// Aborting while the seed spread trains stops it like aborting the model's own epochs: an AbortError,
// and no spread.json with only some of the seeds in it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { loadTf } from '../stages/lib/model/tf.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

const { tf } = await loadTf();
let fixture: Fixture;

beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10 });
});
afterAll(() => fixture.cleanup());

it('aborting during the seed spread rejects with AbortError and writes no spread.json', async () => {
  const { ctx, controller, progress, outDir } = await contextFor(train, fixture.root, { epochs: 3, spread_seeds: 3 });
  let abortedAt: { done: number; label?: string } | undefined;
  const abortingCtx = {
    ...ctx,
    progress: (p: { done: number; total?: number; label?: string }) => {
      progress.push(p);
      if (!abortedAt && p.label?.startsWith('seed spread')) {
        abortedAt = p;
        controller.abort();
      }
    },
  };
  const tensorsBefore = tf.memory().numTensors;
  await expect(train.run(abortingCtx)).rejects.toMatchObject({ name: 'AbortError' });
  expect(tf.memory().numTensors).toBe(tensorsBefore);

  // The spread phase was reached (the model's 3 epochs came first) and nothing trained past the abort.
  expect(abortedAt).toBeDefined();
  expect(progress.filter((p) => p.label?.startsWith('epoch 3/3'))).toHaveLength(1);
  expect(progress.filter((p) => p.label?.startsWith('seed spread'))).toEqual([abortedAt]);
  expect(existsSync(join(outDir, 'spread.json'))).toBe(false);
});
