import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await writeFixture({ count: 60, testDays: 10 });
});
afterAll(() => fixture.cleanup());

it('aborting the signal stops training after the current epoch', async () => {
  const { ctx, controller, progress } = await contextFor(train, fixture.root, { epochs: 50 });
  const abortingCtx = {
    ...ctx,
    progress: (p: { done: number; total?: number; label?: string }) => {
      progress.push(p);
      if (p.done === 2) controller.abort();
    },
  };
  await expect(train.run(abortingCtx)).rejects.toMatchObject({ name: 'AbortError' });
  expect(Math.max(...progress.map((p) => p.done))).toBe(2);
});
