// Worker threads that share a training step with this thread (see lstm-core.ts for the split: phase 1
// by batch rows, phase 2 by gradient rows; no sum is split, so any number of threads gives the same
// weights). They work on the step's shared WebAssembly memory and meet at two points per step through
// Atomics on a small shared control block: no message passing, no copies.
//
// Workers join when they are ready: until a worker has started (it compiles the TypeScript it imports,
// ~0.3 s), the step runs without it. A small job is never kept waiting for threads.
import { Worker } from 'node:worker_threads';
import type { LstmCore, LstmSpec } from './lstm-core.ts';
import { workerScript } from '../../../pipeline/contract/worker.ts';

// Control block slots (Int32).
const GEN = 0; // bumped by this thread to start a step
const BATCH = 1;
const DROPOUT = 2;
const PARTS = 3; // threads in this step, this one included
const QUIT = 4;
const ARRIVED = 5; // phase 1 finished by this many threads
const PHASE2 = 6; // = GEN once every thread finished phase 1
const DONE = 7; // workers that finished the step
const FAILED = 8;
const READY = 16; // + worker index: 1 once the worker can take steps
const RANK = 48; // + worker index: its part in this step, or -1
const SLOTS = 80;
export const MAX_WORKERS = RANK - READY;

/** Waits (spinning briefly first: a step's phases take microseconds to milliseconds) until slot ≠ value. */
export function waitWhile(control: Int32Array, slot: number, value: number): number {
  for (let spin = 0; spin < 4000; spin++) {
    const now = Atomics.load(control, slot);
    if (now !== value) return now;
  }
  for (;;) {
    Atomics.wait(control, slot, value, 1000);
    const now = Atomics.load(control, slot);
    if (now !== value) return now;
  }
}

/** Phase 1, then the barrier, then phase 2: what every thread of a step runs, with its part. */
export function runPart(core: LstmCore, control: Int32Array, part: number): void {
  const gen = Atomics.load(control, GEN);
  const batch = Atomics.load(control, BATCH);
  const dropout = Atomics.load(control, DROPOUT) === 1;
  const parts = Atomics.load(control, PARTS);
  let failure: unknown;
  try {
    const n0 = Math.floor((batch * part) / parts);
    const n1 = Math.floor((batch * (part + 1)) / parts);
    if (n1 > n0) {
      core.forward(n0, n1, batch, dropout);
      core.backward(n0, n1, batch, dropout);
    }
  } catch (error) {
    failure = error;
    Atomics.store(control, FAILED, 1);
  }
  if (Atomics.add(control, ARRIVED, 1) + 1 === parts) {
    Atomics.store(control, PHASE2, gen);
    Atomics.notify(control, PHASE2);
  } else {
    let now = Atomics.load(control, PHASE2);
    while (now !== gen) now = waitWhile(control, PHASE2, now);
  }
  if (failure === undefined && Atomics.load(control, FAILED) === 0) {
    try {
      core.gradients(part, parts, batch, dropout);
    } catch (error) {
      failure = error;
      Atomics.store(control, FAILED, 1);
    }
  }
  if (failure !== undefined) throw failure;
}

/** A worker's side: waits for steps and runs its part until told to quit. */
export function serveSteps(core: LstmCore, control: Int32Array, index: number, report: (message: string) => void): void {
  Atomics.store(control, READY + index, 1);
  let seen = Atomics.load(control, GEN);
  for (;;) {
    seen = waitWhile(control, GEN, seen);
    if (Atomics.load(control, QUIT) === 1) return;
    const part = Atomics.load(control, RANK + index);
    if (part < 0) continue;
    try {
      runPart(core, control, part);
    } catch (error) {
      report(error instanceof Error ? error.message : String(error));
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}

export class BatchTeam {
  private readonly control = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private readonly workers: Worker[] = [];
  private failure: string | undefined;

  constructor(
    private readonly core: LstmCore,
    spec: LstmSpec,
    workers: number,
    script = workerScript(new URL('./batch-worker.mjs', import.meta.url)),
  ) {
    const { lookback, units, layers, activation, dropout } = spec;
    for (let index = 0; index < Math.min(workers, MAX_WORKERS); index++) {
      this.control[RANK + index] = -1;
      try {
        const worker = new Worker(script, {
          workerData: { spec: { lookback, units, layers, activation, dropout }, maxBatch: core.maxBatch, memory: core.memory, control: this.control, index },
        });
        // A worker that fails to start never becomes ready and is simply not used.
        worker.on('error', () => {});
        worker.on('message', (message: { type: string; message: string }) => {
          if (message.type === 'failed') this.failure ??= message.message;
        });
        worker.unref();
        this.workers.push(worker);
      } catch {
        break;
      }
    }
  }

  /** Threads the next step would use (this one and the ready workers, at most one per batch row). */
  threads(batch: number): number {
    let ready = 0;
    for (let i = 0; i < this.workers.length; i++) if (Atomics.load(this.control, READY + i) === 1) ready++;
    return Math.min(1 + ready, batch);
  }

  /** Resolves once every worker is ready (or `timeoutMs` passed); the number of ready workers. */
  async ready(timeoutMs = 30_000): Promise<number> {
    const until = Date.now() + timeoutMs;
    const count = () => this.workers.filter((_, i) => Atomics.load(this.control, READY + i) === 1).length;
    while (count() < this.workers.length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    return count();
  }

  /** One step's phases 1 and 2 on this thread and the ready workers. */
  step(batch: number, dropout: boolean): number {
    const c = this.control;
    const parts = this.threads(batch);
    let rank = 1;
    for (let i = 0; i < this.workers.length; i++) {
      c[RANK + i] = rank < parts && Atomics.load(c, READY + i) === 1 ? rank++ : -1;
    }
    c[BATCH] = batch;
    c[DROPOUT] = dropout ? 1 : 0;
    c[PARTS] = parts;
    c[ARRIVED] = 0;
    c[DONE] = 0;
    c[FAILED] = 0;
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    let error: unknown;
    try {
      runPart(this.core, c, 0);
    } catch (caught) {
      error = caught;
    }
    let done = Atomics.load(c, DONE);
    while (done < parts - 1) done = waitWhile(c, DONE, done);
    if (error !== undefined) throw error;
    if (Atomics.load(c, FAILED) === 1) throw new Error(`a training thread failed${this.failure ? `: ${this.failure}` : ''}`);
    return parts;
  }

  async dispose(): Promise<void> {
    Atomics.store(this.control, QUIT, 1);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
