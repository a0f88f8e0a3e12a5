// The first run of a fresh clone (issue 14, goal 3): the README's main command on the embedded sample,
// every stage, as a new user types it. Each round clones this repository's HEAD into a temp folder and
// runs `npm ci` there (not timed: the README's set-up pays it once, and it makes the CLI's build), then
// times, whole process and as typed through the shell:
//   npm link       (gives the user the `pipeline` command; here into a temp npm prefix, not the machine's)
//   pipeline run   (the found `pipeline` is that link: every stage from the embedded sample)
// Goal: at most 10 s for `pipeline run` on this project's 2-core machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const GOAL_SECONDS = 10;

interface Round {
  readonly link: number;
  readonly run: number;
  readonly rss_mb: number;
  readonly stages: Record<string, number>;
}

function timed(command: string, cwd: string, env: NodeJS.ProcessEnv): { seconds: number; stdout: string; rss_mb: number } {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', command], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 24 });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`bench first-run: "${command}" failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  const rss = Number(result.stderr.trim().split('\n').at(-1));
  return { seconds, stdout: result.stdout, rss_mb: rss / 1024 };
}

function round(index: number): Round {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-first-run-'));
  try {
    const checkout = join(dir, 'pipeline');
    execFileSync('git', ['clone', '--quiet', repo, checkout]);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'] });
    // npm link into a prefix of this round's own: the user's `npm link`, without touching this machine's.
    const prefix = join(dir, 'prefix');
    const env = { ...process.env, npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
    const link = timed('npm link --no-audit --no-fund --loglevel=error', checkout, env);
    const found = execFileSync('sh', ['-c', 'command -v pipeline'], { env, encoding: 'utf8' }).trim();
    if (found !== join(prefix, 'bin', 'pipeline')) throw new Error(`bench first-run: pipeline resolves to ${found}`);
    const run = timed('pipeline run', checkout, env);
    const stages = Object.fromEntries([...run.stdout.matchAll(/^✓ (\w+) {2}([\d.]+) s$/gm)].map((m) => [m[1]!, Number(m[2])]));
    if (Object.keys(stages).length !== 9 || !/^forecast for /m.test(run.stdout)) throw new Error(`bench first-run: not a full first run:\n${run.stdout}`);
    console.log(`  round ${index + 1}: npm link ${link.seconds.toFixed(2)} s, pipeline run ${run.seconds.toFixed(2)} s (stages ${Object.entries(stages).map(([s, t]) => `${s} ${t}`).join(', ')}), peak RSS ${run.rss_mb.toFixed(0)} MB`);
    return { link: link.seconds, run: run.seconds, rss_mb: run.rss_mb, stages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function bench(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  console.log(`fresh clones of ${head}; load average before: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (${availableParallelism()} cores); ${runs} rounds`);
  const rounds: Round[] = [];
  for (let i = 0; i < runs; i++) rounds.push(round(i));
  const run = median(rounds.map((r) => r.run));
  const link = median(rounds.map((r) => r.link));
  const f = (values: number[]) => `${median(values).toFixed(2)} s (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
  console.log('');
  console.log(`| first run of a fresh clone, after npm ci (median of ${runs}) | wall |`);
  console.log('|---|---|');
  console.log(`| \`npm link\` | ${f(rounds.map((r) => r.link))} |`);
  console.log(`| \`pipeline run\` (all 9 stages, embedded sample) | ${f(rounds.map((r) => r.run))} |`);
  console.log(`| both, as the README's command runs them | ${(run + link).toFixed(2)} s |`);
  const stageNames = Object.keys(rounds[0]!.stages);
  console.log(`stages (median): ${stageNames.map((s) => `${s} ${median(rounds.map((r) => r.stages[s] ?? 0)).toFixed(1)} s`).join(', ')}; sum ${median(rounds.map((r) => Object.values(r.stages).reduce((a, b) => a + b, 0))).toFixed(1)} s`);
  console.log(`peak RSS ${median(rounds.map((r) => r.rss_mb)).toFixed(0)} MB`);
  console.log(`goal: pipeline run at most ${GOAL_SECONDS} s: ${run <= GOAL_SECONDS ? 'met' : 'NOT met'}`);
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'results', 'first-run.json'), `${JSON.stringify({ when: new Date().toISOString(), load: loadavg(), head, rounds }, null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
