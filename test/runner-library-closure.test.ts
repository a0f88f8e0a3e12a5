// A declared library counts with every package it needs, transitively, by the version and integrity
// npm resolved (node_modules/.package-lock.json). The rig gets its own node_modules: a stand-in vega
// that needs vega-scenegraph, and a temp copy of the real vega-scenegraph package.
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { parseLock } from '../pipeline/runner/lock.ts';
import { Rig, rigPerTest } from './rig.ts';

const REAL = fileURLToPath(new URL('../node_modules/', import.meta.url));

let rig: Rig;
/** What npm's installed lockfile says, as npm writes it: package path -> version, integrity, needs. */
let lockfile: Record<string, { version: string; integrity: string; dependencies?: Record<string, string> }>;
let sceneVersion: string;

async function writeLockfile(): Promise<void> {
  await rig.write('node_modules/.package-lock.json', JSON.stringify({ name: 'rig', lockfileVersion: 3, requires: true, packages: lockfile }, null, 2));
}

/** Sets vega-scenegraph's version in its package.json, and in npm's lockfile unless `byHand`. */
async function installScene(version: string, integrity: string, byHand = false): Promise<void> {
  const manifest = JSON.parse(await rig.read('node_modules/vega-scenegraph/package.json')) as { version: string };
  manifest.version = version;
  await rig.write('node_modules/vega-scenegraph/package.json', JSON.stringify(manifest, null, 2));
  if (!byHand) {
    lockfile['node_modules/vega-scenegraph'] = { ...lockfile['node_modules/vega-scenegraph']!, version, integrity };
    await writeLockfile();
  }
}

rigPerTest(async () => {
  rig = await Rig.create();
  await rig.write('data/in.txt', 'hello\n');
  await cp(`${REAL}vega-scenegraph`, rig.path('node_modules/vega-scenegraph'), { recursive: true });
  sceneVersion = (JSON.parse(await rig.read('node_modules/vega-scenegraph/package.json')) as { version: string }).version;
  const realLock = JSON.parse(await readFile(`${REAL}.package-lock.json`, 'utf8')) as { packages: typeof lockfile };
  await rig.write(
    'node_modules/vega/package.json',
    JSON.stringify({ name: 'vega', version: '6.2.0', dependencies: { 'vega-scenegraph': `~${sceneVersion}` }, optionalDependencies: { 'vega-native-darwin': '1.0.0' } }),
  );
  lockfile = {
    'node_modules/vega': { version: '6.2.0', integrity: 'sha512-vega', dependencies: { 'vega-scenegraph': `~${sceneVersion}` } },
    'node_modules/vega-scenegraph': realLock.packages['node_modules/vega-scenegraph']!,
  };
  await writeLockfile();
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/in.txt' }], libraries: ['vega'] }]);
  await rig.write('pipeline.yaml', 'stages: {}\n');
  expect((await rig.cli(['run'])).code).toBe(0);
  return rig;
});

test('a new version of a dependency of a declared library makes the stage stale, named with the library it comes through', async () => {
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\n');
  const next = `${sceneVersion.split('.').slice(0, 2).join('.')}.${Number(sceneVersion.split('.')[2]) + 1}`;
  await installScene(next, 'sha512-newer');
  expect((await rig.cli(['status'])).stdout).toBe(`a: library changed (vega-scenegraph ${sceneVersion} → ${next}, via vega)\n`);
  const result = await rig.run();
  expect(result.stages[0]!.action).toBe('ran');
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\n');
});

test('a package replaced by hand, without npm updating its lockfile, is seen by its version', async () => {
  await installScene('9.9.9', '', true);
  expect((await rig.cli(['status'])).stdout).toBe(`a: library changed (vega-scenegraph ${sceneVersion} → 9.9.9, via vega)\n`);
});

test('the same version with other content (integrity) makes the stage stale', async () => {
  await installScene(sceneVersion, 'sha512-republished');
  expect((await rig.cli(['status'])).stdout).toBe(`a: library changed (vega-scenegraph ${sceneVersion} (new integrity), via vega)\n`);
});

test('the lock keeps one hash of the closure; the package list stays on this machine', async () => {
  const text = await rig.read('pipeline.lock');
  const entry = parseLock(text).stages.a!;
  expect(entry.libraries).toEqual({ vega: '6.2.0' });
  expect(entry.libraryClosure).toMatch(/^[0-9a-f]{64}$/);
  expect(text).not.toContain('vega-scenegraph');
  const kept = JSON.parse(await rig.read(`artifacts/.cache/libraries/${entry.libraryClosure}.json`)) as { packages: { name: string; version: string; integrity: string; via: string[] }[] };
  expect(kept.packages).toEqual([
    { name: 'vega', version: '6.2.0', integrity: 'sha512-vega', via: ['vega'] },
    { name: 'vega-scenegraph', version: sceneVersion, integrity: lockfile['node_modules/vega-scenegraph']!.integrity, via: ['vega'] },
  ]);

  // Without that list (a fresh clone, `gc --all`), status still says that a dependency moved.
  await rm(rig.path('artifacts/.cache/libraries'), { recursive: true });
  await installScene('9.9.9', 'sha512-other');
  expect((await rig.cli(['status'])).stdout).toBe('a: library changed (a dependency of vega; the earlier versions are not recorded on this machine)\n');
});

test('packages built for one platform and missing optional ones do not count: a lock stays fresh on another OS', async () => {
  // Installed where its OS matches, absent elsewhere; vega's own version pins it.
  await rig.write('node_modules/vega-native-darwin/package.json', JSON.stringify({ name: 'vega-native-darwin', version: '1.0.0', os: ['darwin'] }));
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\n');
});

test('gc --all forgets the kept package lists; gc keeps the ones the lock refers to', async () => {
  const closure = parseLock(await rig.read('pipeline.lock')).stages.a!.libraryClosure!;
  await installScene('9.9.9', 'sha512-other');
  await rig.run();
  expect((await readdir(rig.path('artifacts/.cache/libraries'))).length).toBe(2);
  await rig.cli(['gc']);
  const now = parseLock(await rig.read('pipeline.lock')).stages.a!.libraryClosure!;
  expect(now).not.toBe(closure);
  expect(await readdir(rig.path('artifacts/.cache/libraries'))).toEqual([`${now}.json`]);
  await rig.cli(['gc', '--all']);
  expect(await readdir(rig.path('artifacts/.cache/libraries'))).toEqual([]);
});
