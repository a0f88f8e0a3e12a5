// Stages never print. tfjs' Orthogonal initialiser console.warns about "slowness" for recurrent kernels
// over 2,000 elements (units 23: 23 x 92 = 2,116); above that size the model computes that initialiser
// itself (stages/lib/model/orthogonal.ts), so a 23-unit model starts without a word. Anything tfjs does
// say while the model is built goes to ctx.info through withWarningsTo.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { train } from '../stages/train.ts';
import { withWarningsTo } from '../stages/lib/model/model.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await writeFixture({ count: 20, testDays: 4 });
});
afterAll(() => fixture.cleanup());

it('a 23-unit model and its spread start without tfjs slowness warnings, on the console or in the log', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const run = await contextFor(train, fixture.root, { epochs: 1, units: 23, spread_seeds: 2 });
    await train.run(run.ctx);
    expect(warn).not.toHaveBeenCalled();
    expect(run.info.filter((m) => m.startsWith('tfjs: '))).toEqual([]);
    expect(console.warn).toBe(warn);
  } finally {
    warn.mockRestore();
  }
});

it('withWarningsTo hands console.warn to the stage while building, and back afterwards, even on a throw', () => {
  const original = console.warn;
  const said: string[] = [];
  expect(withWarningsTo((m) => said.push(m), () => (console.warn('slow', 2116), 5))).toBe(5);
  expect(() => withWarningsTo((m) => said.push(m), () => { console.warn('then'); throw new Error('boom'); })).toThrow('boom');
  expect(said).toEqual(['slow 2116', 'then']);
  expect(console.warn).toBe(original);
});
