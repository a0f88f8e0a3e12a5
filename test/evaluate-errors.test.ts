import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateDay, Float64, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { evaluate } from '../stages/evaluate.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;
let other: Fixture;
const testArrow = () => join(fixture.root, 'artifacts', 'split', 'test.arrow');

beforeAll(async () => {
  fixture = await writeFixture({ count: 40, testDays: 5, lookback: 1 });
  other = await writeFixture({ count: 40, testDays: 5, lookback: 2 });
  const { ctx } = await contextFor(train, fixture.root, { epochs: 1 });
  await train.run(ctx);
});
afterAll(async () => {
  await fixture.cleanup();
  await other.cleanup();
});

it('a test.arrow whose lookback differs from the model is an error naming both files', async () => {
  await copyFile(join(other.root, 'artifacts', 'split', 'test.arrow'), testArrow());
  const { ctx } = await contextFor(evaluate, fixture.root);
  await expect(evaluate.run(ctx)).rejects.toThrow(
    `${join(fixture.root, 'artifacts', 'train', 'model.json')}: the model takes 1 days per input, ${testArrow()} has 2 (x1..x2)`,
  );
});

it('a test.arrow without a y column is an error naming the file and the column', async () => {
  const x1 = makeVector(makeData({ type: new Float64(), length: 2, data: new Float64Array([0.1, 0.2]) }));
  const date = makeVector(makeData({ type: new DateDay(), length: 2, data: new Int32Array([18300, 18301]) }));
  await writeFile(testArrow(), tableToIPC(new Table({ date, x1 }), 'file'));
  const { ctx } = await contextFor(evaluate, fixture.root);
  await expect(evaluate.run(ctx)).rejects.toThrow(`${testArrow()}: expected a column "y", found date, x1`);
});
