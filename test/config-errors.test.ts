import { expect, test } from 'vitest';
import { ConfigError } from '../pipeline/runner/project.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

async function configError(): Promise<ConfigError> {
  try {
    await rig.project();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

test('a bad value is located at its key with file:line:col and the schema message', async () => {
  // Line 4, column 5 is where "times" starts: 4 spaces of indent.
  await rig.write('pipeline.yaml', 'stages:\n  a: {}\n  b:\n    times: thirty\n');
  const error = await configError();
  expect(error.location).toBe('pipeline.yaml:4:5');
  expect(error.message).toBe('pipeline.yaml:4:5: b.times must be a positive integer, got "thirty"');
  expect(error.format()).toBe(
    'pipeline.yaml:4:5: b.times must be a positive integer, got "thirty"\n' +
      '  |\n' +
      '4 |     times: thirty\n' +
      '  |     ^^^^^^^^^^^^^',
  );
});

test('flow-style params are located inside the line', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 0 }\n');
  const error = await configError();
  expect(error.message).toBe('pipeline.yaml:2:8: b.times must be a positive integer, got 0');
});

test('an unknown key suggests the nearest valid one', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  b: { tims: 3 }\n');
  const error = await configError();
  expect(error.message).toBe('pipeline.yaml:2:8: unknown key b.tims; did you mean "times"? (b takes: times)');
});

test('an unknown stage suggests the nearest one; every problem is reported', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  bb: {}\n  c: { x: 1 }\nstage: {}\n');
  const error = await configError();
  expect(error.message).toBe(
    [
      'pipeline.yaml:2:3: unknown stage "bb"; did you mean "b"?',
      'pipeline.yaml:3:8: unknown key c.x (c takes no parameters)',
      'pipeline.yaml:4:1: unknown key "stage"; did you mean "stages"?',
    ].join('\n'),
  );
});

test('YAML syntax errors are located too', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  b: { times: 3\n');
  const error = await configError();
  expect(error.location).toMatch(/^pipeline\.yaml:\d+:\d+$/);
  expect(error.message).toMatch(/invalid YAML/);
});

test('the CLI prints config errors with the underlined line and exits 2', async () => {
  await rig.write('pipeline.yaml', 'stages:\n  b:\n    times: thirty\n');
  const { code, stdout, stderr } = await rig.cli(['run']);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    'pipeline.yaml:3:5: b.times must be a positive integer, got "thirty"\n  |\n3 |     times: thirty\n  |     ^^^^^^^^^^^^^\n',
  );
  const missing = await rig.cli(['status', '--config', 'nope.yaml']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe('nope.yaml: not found; run in a project folder or pass --config FILE\n');
});
