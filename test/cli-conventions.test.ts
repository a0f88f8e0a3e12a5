// The command line's conventions (issue 13, item 7): --version, -V and -h; a mistyped command or
// option gets a "did you mean"; a bad value is echoed as typed (not NaN or null); an option without
// its value is a usage error; `run --json` prints a JSON error document; the command list has params.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.ranChain()));

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const usageHint = 'Run "pipeline --help" for the commands and options.\n';

test('--version and -V print the version; -h and --help the help with every command', async () => {
  for (const flag of ['--version', '-V']) expect(await rig.cli([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  for (const flag of ['-h', '--help']) {
    const { code, stdout } = await rig.cli([flag]);
    expect(code).toBe(0);
    for (const command of ['run', 'status', 'dag', 'gc', 'inspect', 'query', 'metrics', 'params', 'report']) {
      expect(stdout).toMatch(new RegExp(`^  pipeline ${command}\\b`, 'm'));
    }
  }
  expect((await rig.cli(['run', '-h'])).stdout).toMatch(/--force/);
});

test('without a command, the list of commands includes params', async () => {
  const { code, stderr } = await rig.cli([]);
  expect(code).toBe(2);
  expect(stderr).toBe(`pipeline: Name a command: run, status, dag, gc, inspect, query, metrics, params, report\n${usageHint}`);
});

test('a mistyped command or option gets a "did you mean", and nothing runs', async () => {
  expect(await rig.cli(['stauts'])).toEqual({
    code: 2,
    stdout: '',
    stderr: `pipeline: unknown command "stauts"; did you mean "status"? (commands: run, status, dag, gc, inspect, query, metrics, params, report)\n${usageHint}`,
  });
  const before = await rig.counts();
  expect(await rig.cli(['run', '--froce'])).toEqual({ code: 2, stdout: '', stderr: `pipeline: unknown option --froce; did you mean --force?\n${usageHint}` });
  expect(await rig.counts()).toEqual(before);
  expect((await rig.cli(['status', '--jsn'])).stderr).toBe(`pipeline: unknown option --jsn; did you mean --json?\n${usageHint}`);
  expect((await rig.cli(['params', 'dif'])).stderr).toBe(`pipeline: action must be one of "diff", got "dif"; did you mean "diff"?\n${usageHint}`);
});

test('a bad value is echoed as typed, not as NaN or null', async () => {
  const cases: [string[], string][] = [
    [['inspect', 'b/out.txt', '--head', 'abc'], 'pipeline inspect: --head must be a non-negative integer, got "abc"\n'],
    [['inspect', 'b/out.txt', '--tail', '2.5'], 'pipeline inspect: --tail must be a non-negative integer, got 2.5\n'],
    [['query', 'SELECT 1', '--max-rows', 'ten'], 'pipeline query: --max-rows must be a non-negative integer, got "ten"\n'],
    [['gc', '--keep', 'x'], 'pipeline gc: --keep must be a non-negative integer, got "x"\n'],
    [['run', '--set', 'b.times=.nan'], '--set b.times=.nan: b.times must be a positive integer, got ".nan"\n'],
    [['run', '--set', 'b.times='], '--set b.times=: b.times must be a positive integer, got nothing\n'],
  ];
  for (const [argv, stderr] of cases) expect(await rig.cli(argv), argv.join(' ')).toEqual({ code: 2, stdout: '', stderr });
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: }\n');
  expect((await rig.cli(['status'])).stderr).toMatch(/^pipeline\.yaml:2:8: b\.times must be a positive integer, got nothing\n/);
});

test('an option without its value is a usage error', async () => {
  for (const option of ['--from', '--set', '--config']) {
    expect(await rig.cli(['run', option]), option).toEqual({ code: 2, stdout: '', stderr: `pipeline: ${option} needs a value\n${usageHint}` });
  }
  expect((await rig.cli(['inspect', 'b', '--head'])).stderr).toBe(`pipeline: --head needs a value\n${usageHint}`);
});

test('run --json prints a JSON error document on a config error (and on a usage error)', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: thirty }\n');
  const { code, stdout, stderr } = await rig.cli(['run', '--json']);
  expect(code).toBe(2);
  expect(JSON.parse(stdout)).toEqual({
    error: {
      type: 'config',
      message: 'pipeline.yaml:2:8: b.times must be a positive integer, got "thirty"',
      issues: [{ location: 'pipeline.yaml:2:8', message: 'b.times must be a positive integer, got "thirty"' }],
    },
  });
  expect(stderr).toMatch(/^pipeline\.yaml:2:8: /);
  const usage = await rig.cli(['run', '--json', '--from', 'nope']);
  expect(usage.code).toBe(2);
  expect(JSON.parse(usage.stdout)).toMatchObject({ error: { type: 'config' } });
  const unknown = await rig.cli(['run', '--json', '--froce']);
  expect(JSON.parse(unknown.stdout)).toEqual({ error: { type: 'usage', message: 'unknown option --froce; did you mean --force?' } });
});
