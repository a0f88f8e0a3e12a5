import { expect, test } from 'vitest';
import { ConfigError } from '../pipeline/runner/project.ts';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.chain()));

test('--set overrides the file value, parsed as a YAML scalar', async () => {
  const project = await rig.project(['b.times=7', 'a.note=yes']);
  expect(project.params.b).toEqual({ times: 7 });
  // YAML 1.2 core schema: "yes" is a string, not a boolean.
  expect(project.params.a).toEqual({ note: 'yes' });
});

test('--set values are validated like the file, located at the --set argument', async () => {
  await expect(rig.project(['b.times=thirty'])).rejects.toThrow(
    new ConfigError([{ location: '--set b.times=thirty', message: 'b.times must be a positive integer, got "thirty"' }]),
  );
  await expect(rig.project(['b.tmes=3'])).rejects.toThrow('--set b.tmes=3: unknown key b.tmes; did you mean "times"? (b takes: times)');
  await expect(rig.project(['bee.times=3'])).rejects.toThrow('--set bee.times=3: unknown stage "bee"; did you mean "b"?');
  await expect(rig.project(['times=3'])).rejects.toThrow('--set times=3: expected stage.key=value, e.g. --set train.epochs=50');
});

test('the CLI applies repeated --set options and exits 2 on a bad one', async () => {
  const ok = await rig.cli(['run', '--set', 'b.times=3', '--set', 'a.note=x']);
  expect(ok.code).toBe(0);
  expect(await rig.read('artifacts/b/out.txt')).toBe('HELLOHELLOHELLO');
  const bad = await rig.cli(['run', '--set', 'b.times=-1']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe('--set b.times=-1: b.times must be a positive integer, got -1\n');
});
