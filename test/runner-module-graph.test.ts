// The code hash follows a real module graph: every form of import a stage can load code by, never text
// that only looks like one, and a specifier it can't follow is a located error at load time.
import { expect, test } from 'vitest';
import { Rig, rigPerTest } from './rig.ts';

let rig: Rig;
rigPerTest(async () => (rig = await Rig.withInput()));

/** One stage `a` whose module has `header` at the top and runs `body` first. */
async function stageWith(header: string, body = ''): Promise<void> {
  await rig.setStages([{ name: 'a', inputs: [{ path: 'data/in.txt' }], header, body }]);
}

/** Runs, then edits `file` and expects `a` to be stale for `reason`. */
async function editMakesStale(file: string, content: string, reason = 'code changed'): Promise<void> {
  const first = await rig.cli(['run']);
  expect(first).toMatchObject({ code: 0, stderr: '' });
  expect((await rig.cli(['status'])).stdout).toBe('a: fresh\n');
  await rig.write(file, content);
  expect((await rig.cli(['status'])).stdout).toBe(`a: ${reason}\n`);
}

test('a template literal import() counts', async () => {
  await rig.write('stages/run/body.ts', 'export const body = 1;\n');
  await stageWith('', 'await import(`./run/body.ts`);');
  await editMakesStale('stages/run/body.ts', 'export const body = 2;\n');
});

test('an import() with a comment inside counts', async () => {
  await rig.write('stages/run/body.ts', 'export const body = 1;\n');
  await stageWith('', "await import(/* the stage's body */ './run/body.ts');");
  await editMakesStale('stages/run/body.ts', 'export const body = 2;\n');
});

test('a const bound to a literal counts as that literal', async () => {
  await rig.write('stages/run/body.ts', 'export const body = 1;\n');
  await stageWith('', "const body = './run/body.ts';\n    await import(body);");
  await editMakesStale('stages/run/body.ts', 'export const body = 2;\n');
});

test('a require() through createRequire counts', async () => {
  await rig.write('stages/lib/factor.cjs', 'module.exports = { factor: 1 };\n');
  await stageWith("import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);", "const { factor } = require('./lib/factor.cjs');");
  await editMakesStale('stages/lib/factor.cjs', 'module.exports = { factor: 2 };\n');
});

test("a module's own require() calls count: a .cjs helper requiring another", async () => {
  await rig.write('stages/lib/outer.cjs', "module.exports = require('./inner.cjs');\n");
  await rig.write('stages/lib/inner.cjs', 'module.exports = { factor: 1 };\n');
  await stageWith("import { createRequire } from 'node:module';", "createRequire(import.meta.url)('./lib/outer.cjs');");
  await editMakesStale('stages/lib/inner.cjs', 'module.exports = { factor: 2 };\n');
});

test('import.meta.resolve counts', async () => {
  await rig.write('stages/lib/tool.mjs', 'export const tool = 1;\n');
  await stageWith("export function toolUrl() { return import.meta.resolve('./lib/tool.mjs'); }");
  await editMakesStale('stages/lib/tool.mjs', 'export const tool = 2;\n');
});

test('a worker script named by new URL(…, import.meta.url) counts, and so does what it imports', async () => {
  await rig.write('stages/lib/worker.mjs', "import { work } from './work.mjs';\nwork();\n");
  await rig.write('stages/lib/work.mjs', 'export const work = () => 1;\n');
  await stageWith("export const worker = new URL('./lib/worker.mjs', import.meta.url);");
  await editMakesStale('stages/lib/work.mjs', 'export const work = () => 2;\n');
});

test('a .mjs helper counts', async () => {
  await rig.write('stages/lib/shout.mjs', 'export const shout = (s) => s.toUpperCase();\n');
  await stageWith("import { shout } from './lib/shout.mjs';\nexport const used = shout;");
  await editMakesStale('stages/lib/shout.mjs', 'export const shout = (s) => s.toLowerCase();\n');
});

test('comments and strings that only look like imports are not followed', async () => {
  await stageWith(
    [
      "// import('./run/legacy.ts')",
      "/* const old = require('./lib/old.cjs'); */",
      'export const quoted = "import(\'./run/gone.ts\')";',
      "export const pattern = /import\\('\\.\\/nowhere\\.ts'\\)/;",
      "export const template = `new URL('./missing.mjs', import.meta.url)`;",
    ].join('\n'),
  );
  const status = await rig.cli(['status']);
  expect(status).toEqual({ code: 0, stdout: 'a: never run\n', stderr: '' });
  expect((await rig.cli(['run'])).code).toBe(0);
});

test('a data file the code reads beside itself is an input of the stage', async () => {
  await rig.write('stages/lib/table.csv', 'x,1\n');
  await rig.write('stages/lib/names.txt', 'x\n');
  // (The fake stage module already imports readFileSync.) A URL without './' is relative all the same.
  await stageWith(
    "export const names = () => new URL('lib/names.txt', import.meta.url);",
    "const table = readFileSync(new URL('./lib/table.csv', import.meta.url), 'utf8');",
  );
  await editMakesStale('stages/lib/table.csv', 'x,2\n', 'input changed (stages/lib/table.csv)');
  await rig.write('stages/lib/names.txt', 'y\n');
  expect((await rig.cli(['status'])).stdout).toBe('a: input changed (stages/lib/names.txt); input changed (stages/lib/table.csv)\n');
  expect((await rig.cli(['dag'])).stdout).toContain('◀ stages/lib/table.csv  (read by stages/a.ts)\n');
  // Recorded in the lock like any input; the stage's declared inputs (ctx.inputs) are what inputs() says.
  await rig.cli(['run']);
  expect(await rig.read('pipeline.lock')).toContain('stages/lib/table.csv: ');
  expect(await rig.read('artifacts/a/out.txt')).toBe('hello\n');
});

test('a specifier the graph cannot follow is an error at load time, with its place', async () => {
  const lines = [
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    'export async function load(name: string, file: string) {',
    '  await import(name);',
    '  require(`./lib/${name}.cjs`);',
    '  return [new URL(file, import.meta.url), import.meta.resolve(name), import.meta.dirname];',
    '}',
  ];
  await stageWith(lines.join('\n'));
  const status = await rig.cli(['status']);
  expect(status.code).toBe(2);
  expect(status.stdout).toBe('');
  // Lines and columns counted from the source as written (the fake stage module puts the header after its imports).
  const source = (await rig.read('stages/a.ts')).split('\n');
  const at = (text: string, from = 0) => {
    const line = source.findIndex((l, i) => i >= from && l.includes(text));
    return `stages/a.ts:${line + 1}:${source[line]!.indexOf(text) + 1}`;
  };
  const located = status.stderr.split('\n').filter((l) => l.startsWith('stages/a.ts:'));
  expect(located).toEqual([
    `${at('import(name)')}: import() with a computed specifier can't be fingerprinted; use a literal`,
    `${at('require(`')}: require() with a computed specifier can't be fingerprinted; use a literal`,
    `${at('new URL(file')}: new URL() with a computed specifier can't be fingerprinted; use a literal`,
    `${at('import.meta.resolve(name)')}: import.meta.resolve() with a computed specifier can't be fingerprinted; use a literal`,
    `${at('import.meta.dirname')}: import.meta.dirname builds paths the fingerprint can't follow; name the file with new URL('./file', import.meta.url) or declare it in the stage's inputs()`,
  ]);
  // Each with its line, underlined.
  expect(status.stderr).toContain(`| ${source.find((l) => l.includes('import(name)'))}\n`);
  expect((await rig.cli(['run'])).code).toBe(2);
});

test('an import of a file that is not there is an error at load time, with its place', async () => {
  // Loaded only when called, so nothing but the graph notices it before the stage runs.
  await stageWith("export const later = () => import('./lib/gone.ts');");
  const status = await rig.cli(['status']);
  expect(status.code).toBe(2);
  const lines = (await rig.read('stages/a.ts')).split('\n');
  const line = lines.findIndex((l) => l.includes('./lib/gone.ts'));
  const column = lines[line]!.indexOf('import(') + 1;
  expect(status.stderr.split('\n')[0]).toBe(`stages/a.ts:${line + 1}:${column}: cannot find './lib/gone.ts' (${rig.path('stages/lib/gone.ts')})`);
});

test('a module that does not parse is an error at load time, with its place', async () => {
  await rig.write('stages/lib/broken.ts', 'export const x = ;\n');
  await stageWith("export const later = () => import('./lib/broken.ts');");
  const status = await rig.cli(['status']);
  expect(status.code).toBe(2);
  expect(status.stderr.split('\n')[0]).toBe('stages/lib/broken.ts:1:18: cannot be parsed: Unexpected ";"');
});
