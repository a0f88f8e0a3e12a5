// No-op `pipeline run` vs no-op `snakemake -c1` on the full-size default project, side by side, both as
// typed. Goal (issues 2 and 14): ours takes at most a fifth of snakemake's wall time.
//
// The project is copied to bench/results/noop/ (gitignored; node_modules linked), run once in full
// (sample writes the ~266 MB minute CSV the other stages read), then snakemake runs the nine-rule
// bench/noop/Snakefile once with --forceall so its metadata (params, code, input triggers) is
// complete, and `pipeline run` twice so the no-op witness exists. `pipeline` is the command the README's
// set-up gives (`npm link`: a symlink on PATH to bin/pipeline.mjs; bench/typed.ts makes the same one),
// run by the shell. Then hyperfine times, alternating:
//   pipeline run                           (what a user types: the stat-checked no-op fast path)
//   PIPELINE_NO_FAST_PATH=1 pipeline run   (the full runner: config, fingerprints, stat cache)
//   snakemake -c1
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipelineOnPath } from './typed.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(repo, 'bench', 'results', 'noop');

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { cwd: work, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `pipeline ARGS` as typed: the shell finds the command on PATH. */
function typed(path: NodeJS.ProcessEnv, args: string): string {
  return execFileSync('sh', ['-c', `pipeline ${args}`], { cwd: work, env: { ...path, NO_COLOR: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function prepare(): NodeJS.ProcessEnv {
  const fresh = !existsSync(join(work, 'pipeline.lock'));
  mkdirSync(work, { recursive: true });
  // Code and config are re-copied every time, so a changed runner is never benchmarked stale; with
  // preserveTimestamps an unchanged file keeps its size, mtime and inode, and the witness stays valid.
  for (const item of ['package.json', 'pipeline.yaml', 'bin', 'pipeline', 'stages', 'data']) {
    cpSync(join(repo, item), join(work, item), { recursive: true, preserveTimestamps: true });
  }
  cpSync(join(repo, 'bench', 'noop', 'Snakefile'), join(work, 'Snakefile'), { preserveTimestamps: true });
  if (!existsSync(join(work, 'node_modules'))) symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'));
  // The copy's own `pipeline` command, as npm link would make it there.
  const { env: path } = pipelineOnPath(work);
  if (fresh) {
    console.log('first run of the full pipeline (about half a minute)…');
    typed(path, 'run');
    console.log('recording snakemake metadata: snakemake -c1 --forceall (reruns the nine stages once)…');
    rmSync(join(work, '.snakemake'), { recursive: true, force: true });
    sh('snakemake', ['-c1', '-q', '--forceall']);
  }
  // Whatever snakemake's jobs rewrote, bring the lock up to date, then a plain no-op records the witness.
  typed(path, 'run');
  const ours = typed(path, 'run');
  const theirs = execFileSync('snakemake', ['-c1'], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!/^(✓ \w+ {2}skipped \(unchanged\)\n){9}forecast for .*\n$/.test(ours)) throw new Error(`pipeline run is not a no-op:\n${ours}`);
  if (!existsSync(join(work, 'artifacts', '.cache', 'noop.json'))) throw new Error('no no-op witness was recorded');
  const snakeOut = theirs + sh('snakemake', ['-c1', '-n']);
  if (!/Nothing to be done/.test(snakeOut)) throw new Error(`snakemake is not a no-op:\n${snakeOut}`);
  return path;
}

interface HyperfineResult {
  results: { command: string; mean: number; stddev: number; min: number; max: number; user: number; system: number }[];
}

export async function bench(): Promise<void> {
  const path = prepare();
  const out = join(work, 'hyperfine.json');
  const size = statSync(join(work, 'artifacts', 'sample', 'minutes.csv')).size;
  console.log(`source CSV: ${(size / 1e6).toFixed(0)} MB; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}`);
  execFileSync(
    'hyperfine',
    [
      '--warmup', '2', '--runs', '15', '--style', 'basic', '--export-json', out,
      '-n', 'pipeline run', 'pipeline run',
      '-n', 'pipeline run (full runner)', 'PIPELINE_NO_FAST_PATH=1 pipeline run',
      '-n', 'snakemake -c1', 'snakemake -c1 -q',
    ],
    { cwd: work, stdio: ['ignore', 'inherit', 'inherit'], env: { ...path, NO_COLOR: '1' } },
  );
  const { results } = JSON.parse(readFileSync(out, 'utf8')) as HyperfineResult;
  const [ours, full, snake] = results;
  if (!ours || !full || !snake) throw new Error('hyperfine returned fewer results than commands');
  const row = (r: HyperfineResult['results'][number]) =>
    `${r.command.padEnd(28)} ${(r.mean * 1000).toFixed(0).padStart(6)} ms ± ${(r.stddev * 1000).toFixed(0)} ms`;
  console.log(`\nno-op wall time, mean of 15 runs\n${row(ours)}\n${row(full)}\n${row(snake)}`);
  console.log(`ratio pipeline / snakemake: ${(ours.mean / snake.mean).toFixed(3)} (goal <= 0.200)`);
  console.log(`ratio full runner / snakemake: ${(full.mean / snake.mean).toFixed(3)}`);
  // Wall time swings with the machine's load; CPU time (user + system) much less so.
  const cpu = (r: HyperfineResult['results'][number]) => r.user + r.system;
  console.log(
    `CPU time (user + system): pipeline ${(cpu(ours) * 1000).toFixed(0)} ms, full runner ${(cpu(full) * 1000).toFixed(0)} ms, ` +
      `snakemake ${(cpu(snake) * 1000).toFixed(0)} ms; ratio pipeline / snakemake ${(cpu(ours) / cpu(snake)).toFixed(3)}`,
  );
}
