// On a terminal the progress bar shows how long is left (cli-progress' rate over the last updates),
// once it has a rate: 30 epochs at 2 s each, after epoch 10 of 30, leave 20 × 2 s = 40 s.
import { Writable } from 'node:stream';
import pc from 'picocolors';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { etaText, Logger } from '../pipeline/cli/logger.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

function terminal() {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
  );
  return { stream, text: () => text };
}

test('the bar ends with the time left once epochs have been timed', () => {
  const out = terminal();
  const logger = new Logger({ out: out.stream as never, err: out.stream as never, colors: pc.createColors(false), tty: true, debug: false });
  logger.handle({ type: 'start', stage: 'train', reasons: [] });
  logger.handle({ type: 'progress', stage: 'train', progress: { done: 0, total: 30, label: 'epoch' } });
  for (let epoch = 1; epoch <= 10; epoch++) {
    vi.advanceTimersByTime(2000);
    logger.handle({ type: 'progress', stage: 'train', progress: { done: epoch, total: 30, label: `epoch ${epoch}/30` } });
  }
  vi.advanceTimersByTime(200);
  const screen = out.text();
  expect(screen).toContain('train [');
  expect(screen).toContain('10/30 epoch 10/30 ETA 40.0 s');
  logger.close();
});

test('no ETA before a rate is known, nor once done', () => {
  expect(etaText({ eta: 'NULL' as never, value: 0, total: 30 })).toBe('');
  expect(etaText({ eta: Number.POSITIVE_INFINITY, value: 1, total: 30 })).toBe('');
  expect(etaText({ eta: 12, value: 0, total: 30 })).toBe('');
  expect(etaText({ eta: 0, value: 30, total: 30 })).toBe('');
  expect(etaText({ eta: 125, value: 3, total: 30 })).toBe(' ETA 2 min 5 s');
});
