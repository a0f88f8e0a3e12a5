import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import { defineStage } from '../pipeline/contract/stage.ts';
import { count } from '../pipeline/contract/text.ts';
import { z } from 'zod';
import { nonNegativeInt, oneOf, paramsOf } from '../pipeline/contract/params.ts';
import { workerScript } from '../pipeline/contract/worker.ts';
import { readDailyPrices, type DailyBar } from './lib/data/daily-prices.ts';
import { headerOf } from './lib/data/kaggle-layouts.ts';
import { blockCsv, DAY_CAPACITY, headerCsv } from './lib/data/minute-sample.ts';

export { DayGenerator, noTradeShare } from './lib/data/minute-sample.ts';

/** The notebook's (legacy) header, and today's. */
export const KAGGLE_HEADER = headerOf('legacy');
export const CURRENT_HEADER = headerOf('current');

const MINUTES = 1440;

/**
 * The generator takes a 32-bit seed: larger ones would wrap round (2^32 + 7 would make the same data as 7),
 * so they are refused rather than silently aliased.
 */
function seed32(defaultValue: number, description: string) {
  const error = 'must be an integer from 0 to 4294967295';
  return z.int({ error }).min(0, { error }).max(0xffffffff, { error }).default(defaultValue).describe(description);
}

export const sample = defineStage({
  name: 'sample',
  description: 'Synthesize Kaggle minute bars (legacy or current layout) around the bundled real daily prices',
  module: import.meta.url,
  params: paramsOf({
    days: nonNegativeInt(0, 'keep the last N days of data/btc-usd-daily.csv; 0 = every day'),
    seed: seed32(7, 'random seed of the synthetic minutes'),
    layout: oneOf(['legacy', 'current'], 'legacy', 'legacy: the notebook\'s 8 columns, NaN without trades; current: today\'s 6 columns, Volume 0 without trades'),
  }),
  onlyIfUsed: true,
  inputs: () => [{ path: 'data/btc-usd-daily.csv' }],
  outputs: () => ['minutes.csv'],
  async run(ctx) {
    const all = await readDailyPrices(ctx.inputs[0]!);
    const days = ctx.params.days === 0 ? all : all.slice(-ctx.params.days);
    if (ctx.params.days > all.length) {
      ctx.warn(`sample.days = ${ctx.params.days} is more than the ${count(all.length, 'day')} of ${basename(ctx.inputs[0]!)}: capped at ${all.length}`);
    }

    // Blocks of days, written in order; with enough days, every other block is made by a worker thread.
    // The blocks' buffers are used again once written: no 266 MB of fresh allocations for one file.
    const blocks: DailyBar[][] = [];
    for (let i = 0; i < days.length; i += BLOCK_DAYS) blocks.push(days.slice(i, i + BLOCK_DAYS));
    const free: ArrayBuffer[] = [];
    const buffer = () => free.pop() ?? new ArrayBuffer(BLOCK_DAYS * DAY_CAPACITY);
    const out = await ctx.writer('minutes.csv');
    const helper = blocks.length >= WORKER_BLOCKS ? new SampleWorker() : undefined;
    // One block's write in flight while the next is made.
    let writing: Promise<void> = Promise.resolve();
    try {
      writing = out.write(headerCsv(ctx.params.layout));
      const byWorker = (k: number) => helper !== undefined && k % 2 === 1;
      const asked = new Map<number, Promise<Uint8Array>>();
      let done = 0;
      for (let k = 0; k < blocks.length; k++) {
        ctx.signal.throwIfAborted();
        // The worker's next blocks are asked for ahead, a few at a time (memory stays a few blocks).
        for (let j = k; j < Math.min(blocks.length, k + 4); j++) {
          if (byWorker(j) && !asked.has(j)) asked.set(j, helper!.block(blocks[j]!, ctx.params.seed, ctx.params.layout, buffer()));
        }
        const bytes = byWorker(k) ? await asked.get(k)! : blockCsv(blocks[k]!, ctx.params.seed, ctx.params.layout, new Uint8Array(buffer()));
        asked.delete(k);
        await writing;
        writing = out.write(bytes).then(() => {
          free.push(bytes.buffer as ArrayBuffer);
        });
        done += blocks[k]!.length;
        ctx.progress({ done, total: days.length, label: 'days' });
      }
      await writing;
    } finally {
      await writing.catch(() => undefined);
      await helper?.stop();
      await out.close();
    }
    ctx.info(`${count(days.length, 'day')}, ${count(days.length * MINUTES, 'minute row')}`);
  },
});

/** Days per block of the file (~3 MB of CSV). */
const BLOCK_DAYS = 32;
/** A worker thread pays for its start (~50 ms from the CLI's build) from this many blocks on. */
const WORKER_BLOCKS = 16;

/**
 * A worker thread that makes blocks of days (stages/lib/data/sample-worker.mjs), one request at a time
 * in order. If it cannot start, its blocks are made here instead: the bytes are the same either way.
 */
class SampleWorker {
  readonly #worker: Worker | undefined;
  readonly #waiting = new Map<number, { resolve: (bytes: Uint8Array) => void; days: readonly DailyBar[]; seed: number; layout: 'legacy' | 'current'; buffer: ArrayBuffer }>();
  #next = 0;
  #failed: Error | undefined;

  constructor() {
    try {
      this.#worker = new Worker(workerScript(new URL('./lib/data/sample-worker.mjs', import.meta.url)));
      this.#worker.on('message', ({ id, buffer, length }: { id: number; buffer: ArrayBuffer; length: number }) => {
        const request = this.#waiting.get(id);
        this.#waiting.delete(id);
        request?.resolve(new Uint8Array(buffer, 0, length));
      });
      const fail = (error: Error) => {
        this.#failed = error;
        // Whatever it still owed is made here.
        for (const [id, request] of this.#waiting) {
          this.#waiting.delete(id);
          request.resolve(blockCsv(request.days, request.seed, request.layout));
        }
      };
      this.#worker.on('error', fail);
      this.#worker.on('exit', (code) => fail(new Error(`the sample worker stopped (exit code ${code})`)));
    } catch (error) {
      this.#failed = error as Error;
    }
  }

  /** The block's bytes, made in `buffer` (which goes to the worker and comes back with them). */
  block(days: readonly DailyBar[], seed: number, layout: 'legacy' | 'current', buffer: ArrayBuffer): Promise<Uint8Array> {
    if (!this.#worker || this.#failed) return Promise.resolve(blockCsv(days, seed, layout, new Uint8Array(buffer)));
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, { resolve, days, seed, layout, buffer });
      this.#worker!.postMessage({ id, days, seed, layout, buffer }, [buffer]);
    });
  }

  async stop(): Promise<void> {
    this.#failed ??= new Error('stopped');
    this.#waiting.clear();
    await this.#worker?.terminate();
  }
}
