import { Writable } from 'node:stream';
import pc from 'picocolors';
import { expect, test } from 'vitest';
import { colorsFor, Logger } from '../pipeline/cli/logger.ts';

function capture(isTTY = false) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

test('off a terminal, progress prints a plain line at 25, 50 and 75 percent, not on every event', () => {
  const out = capture();
  const logger = new Logger({ out: out.stream, err: out.stream, colors: pc.createColors(false), tty: false, debug: false });
  logger.handle({ type: 'start', stage: 'train', reasons: [] });
  for (let epoch = 1; epoch <= 30; epoch++) {
    logger.handle({ type: 'progress', stage: 'train', progress: { done: epoch, total: 30, label: `loss ${epoch}` } });
  }
  logger.handle({ type: 'done', stage: 'train', seconds: 4.06 });
  // Quarters of 30 epochs are first reached at epochs 8 (26.7%), 15 (50%) and 23 (76.7%).
  expect(out.text()).toBe(
    '  train  25% (8/30 loss 8)\n  train  50% (15/30 loss 15)\n  train  75% (23/30 loss 23)\n✓ train  4.1 s\n',
  );
});

test('progress without a total is printed at most every few seconds', () => {
  const out = capture();
  const logger = new Logger({
    out: out.stream,
    err: out.stream,
    colors: pc.createColors(false),
    tty: false,
    debug: false,
    plainEverySeconds: 3600,
  });
  logger.handle({ type: 'start', stage: 'ingest', reasons: [] });
  for (let rows = 0; rows < 1000; rows += 100) logger.handle({ type: 'progress', stage: 'ingest', progress: { done: rows, label: 'rows' } });
  logger.handle({ type: 'done', stage: 'ingest', seconds: 75 });
  expect(out.text()).toBe('✓ ingest  1 min 15 s\n');
});

test('colour follows NO_COLOR, FORCE_COLOR and whether the stream is a terminal', () => {
  const tty = capture(true).stream;
  const pipe = capture(false).stream;
  expect(colorsFor(tty, {}).green('x')).toBe('\x1b[32mx\x1b[39m');
  expect(colorsFor(tty, { NO_COLOR: '1' }).green('x')).toBe('x');
  expect(colorsFor(pipe, {}).green('x')).toBe('x');
  expect(colorsFor(pipe, { FORCE_COLOR: '1' }).green('x')).toBe('\x1b[32mx\x1b[39m');
});
