// Stages never print: tfjs' Orthogonal initialiser console.warns about "slowness" for recurrent kernels
// over 2,000 elements (units 23: 23 x 92 = 2,116), and the train stage passes that on through ctx.info.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { train } from '../stages/train.ts';
import { contextFor, writeFixture, type Fixture } from './model-helpers.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await writeFixture({ count: 20, testDays: 4 });
});
afterAll(() => fixture.cleanup());

it('tfjs initialiser warnings of a 23-unit model go to ctx.info, not the console', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    // Two spread seeds: their models are built the same way (a 23-unit Orthogonal initialiser takes ~0.7 s).
    const run = await contextFor(train, fixture.root, { epochs: 1, units: 23, spread_seeds: 2 });
    await train.run(run.ctx);
    expect(warn).not.toHaveBeenCalled();
    expect(run.info.some((m) => m.startsWith('tfjs: ') && m.includes('Orthogonal initializer') && m.includes('(2116)'))).toBe(true);
    // The console is handed back once the model is built.
    expect(console.warn).toBe(warn);
  } finally {
    warn.mockRestore();
  }
});
