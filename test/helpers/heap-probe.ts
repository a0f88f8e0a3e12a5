// Runs one `pipeline` command in this process (started with --expose-gc) with stdout counted, not
// kept, and measures the live heap after a full GC every few writes, against the heap after a warm-up
// that loaded the commands' modules: how much the command itself holds while it prints.
// Prints one JSON line: exit code, lines, first and last lines, peak heap growth.
import { Writable } from 'node:stream';
import { main } from '../../pipeline/cli/main.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const [cwd, ...argv] = process.argv.slice(2);

// Load the commands' modules (DuckDB, Arrow…) first: the baseline is then the process ready to print.
const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
for (const warmUp of [['query', 'SELECT 1'], ['inspect']]) await main(warmUp, { stdout: sink(), stderr: sink(), cwd: cwd!, env: { NO_COLOR: '1' } });
gc();
const baseline = process.memoryUsage().heapUsed;
let peak = baseline;
let writes = 0;
const sample = () => {
  gc();
  peak = Math.max(peak, process.memoryUsage().heapUsed);
};
let lines = 0;
let pending = '';
const head: string[] = [];
let tail: string[] = [];
const rowLengths = new Set<number>();
const stdout = new Writable({
  write(chunk: Buffer, _encoding, done) {
    const text = pending + chunk.toString();
    const parts = text.split('\n');
    pending = parts.pop() ?? '';
    lines += parts.length;
    for (const line of parts) {
      if (head.length < 5) head.push(line);
      // Rows of the minutes table start with their timestamp; aligned, they all have one length.
      if (/^\d{4}-\d\d-\d\d \d\d:\d\d/.test(line)) rowLengths.add(line.length);
    }
    tail = [...tail, ...parts].slice(-3);
    // A full GC costs tens of ms: every 8th write is enough to see rows piling up.
    if (++writes % 8 === 0) sample();
    done();
  },
});
let stderr = '';
const err = new Writable({
  write(chunk: Buffer, _encoding, done) {
    stderr += chunk.toString();
    done();
  },
});
const code = await main(argv, { stdout, stderr: err, cwd: cwd!, env: { NO_COLOR: '1' } });
sample();
process.stdout.write(`${JSON.stringify({ code, lines, head, tail, stderr, rowLengths: [...rowLengths], peakGrowthMiB: (peak - baseline) / 2 ** 20, writes })}\n`);
