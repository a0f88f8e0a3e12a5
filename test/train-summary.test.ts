import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { train } from '../stages/train.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

// Keras' count for an LSTM layer: 4 gates, each with input and recurrent kernels and a bias.
const lstmParams = (units: number, input: number) => 4 * (units * (input + units) + units);

let fixture: Fixture;
let summary: string;

beforeAll(async () => {
  fixture = await writeFixture({ count: 40, testDays: 5, lookback: 3 });
  const { ctx } = await contextFor(train, fixture.root, { epochs: 1, units: 3, layers: 2, dropout: 0.2 });
  await train.run(ctx);
  summary = await readFile(join(fixture.root, 'artifacts', 'train', 'summary.txt'), 'utf8');
});
afterAll(() => fixture.cleanup());

function paramsOf(layer: string): number {
  const line = summary.split('\n').find((l) => l.startsWith(`${layer} (`));
  if (!line) throw new Error(`no line for layer ${layer} in:\n${summary}`);
  return Number(line.trim().split(/\s+/).at(-1));
}

it('the model summary counts parameters as the LSTM and Dense formulas do', () => {
  expect(paramsOf('lstm')).toBe(lstmParams(3, 1));
  expect(paramsOf('lstm_1')).toBe(lstmParams(3, 3));
  expect(paramsOf('dropout')).toBe(0);
  expect(paramsOf('dense')).toBe(3 + 1);
  const total = lstmParams(3, 1) + lstmParams(3, 3) + 4;
  expect(summary).toContain(`Total params: ${total}`);
  expect(summary).toContain(`Trainable params: ${total}`);
});

it('stacked layers return sequences into the next layer and take lookback days', () => {
  expect(summary).toMatch(/^lstm \(LSTM\)\s+\[\[null,3,1\]\]\s+\[null,3,3\]/m);
  expect(summary).toMatch(/^lstm_1 \(LSTM\)\s+\[\[null,3,3\]\]\s+\[null,3\]/m);
});
