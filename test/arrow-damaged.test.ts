// A damaged Arrow artifact gives one clear error that names it, and only when it is used (issue 13,
// item 3). Garbage written over part of scale/scaled.arrow, magic bytes intact, used to break even
// `query "select 42"` with `Cannot read properties of null (reading 'fieldsLength')`, and some
// damage made apache-arrow loop for minutes. Each case below overwrites 48 bytes of one part of the file.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateDay, Field, Float64, RecordBatch, Schema, Struct, Table, makeData, tableToIPC } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
let intact: Uint8Array;
const ROWS = 300;

beforeAll(async () => {
  fixture = await makeFixture();
  const schema = new Schema([new Field('date', new DateDay(), false), new Field('price', new Float64(), false), new Field('scaled', new Float64(), false)]);
  const days = Int32Array.from({ length: ROWS }, (_, i) => 18_000 + i);
  const price = Float64Array.from({ length: ROWS }, (_, i) => 100 + i);
  const scaled = Float64Array.from(price, (p) => (p - 100) / (ROWS - 1));
  const children = [
    makeData({ type: new DateDay(), length: ROWS, data: days }),
    makeData({ type: new Float64(), length: ROWS, data: price }),
    makeData({ type: new Float64(), length: ROWS, data: scaled }),
  ];
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ROWS, nullCount: 0, children }));
  intact = tableToIPC(new Table([batch]), 'file');
});
afterAll(() => fixture.cleanup());

const path = () => join(fixture.root, 'artifacts', 'scale', 'scaled.arrow');

/** Where the parts of an Arrow IPC file are: its footer, and the record batch message its footer points to. */
function layout(bytes: Uint8Array): { footer: number; footerLength: number; batch: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLength = view.getInt32(bytes.length - 10, true);
  const footer = bytes.length - 10 - footerLength;
  const [block] = [...Footer.decode(bytes.subarray(footer, footer + footerLength)).recordBatches()];
  // The message starts with its continuation marker and length (8 bytes), then its flatbuffer.
  return { footer, footerLength, batch: block!.offset };
}

async function damage(at: (l: ReturnType<typeof layout>) => number): Promise<void> {
  const bytes = Uint8Array.from(intact);
  const start = at(layout(bytes));
  for (let i = 0; i < 48; i++) bytes[start + i] = (i * 37 + 11) & 255;
  await writeFile(path(), bytes);
}

const cases: [string, (l: ReturnType<typeof layout>) => number][] = [
  ['the middle of the footer (its schema)', (l) => l.footer + Math.floor(l.footerLength / 2) - 24],
  ['the start of the footer', (l) => l.footer + 4],
  ['the end of the footer (its record batch list)', (l) => l.footer + l.footerLength - 56],
  ['the record batch header', (l) => l.batch + 8],
  ['the record batch header further in (buffers and lengths)', (l) => l.batch + 8 + 48],
];

describe.each(cases)('garbage over %s of scale/scaled.arrow', (_name, at) => {
  beforeAll(() => damage(at));

  test('queries that do not use it still answer, select 42 included', async () => {
    expect(await runCli(['query', 'select 42 AS answer', '--csv'], fixture.root)).toMatchObject({ code: 0, stdout: 'answer\n42\n' });
    const daily = await runCli(['query', 'SELECT count(*) AS n FROM aggregate.daily', '--csv'], fixture.root);
    expect(daily).toMatchObject({ code: 0, stdout: `n\n${fixture.days.length}\n` });
    expect((await runCli(['inspect', 'aggregate/daily', '--json'], fixture.root)).code).toBe(0);
    expect((await runCli(['inspect'], fixture.root)).code).toBe(0);
  });

  test('a query that uses it fails with one line that names the file', async () => {
    const { code, stdout, stderr } = await runCli(['query', 'SELECT max(price) FROM scale.scaled'], fixture.root);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pipeline query: \S*artifacts\/scale\/scaled\.arrow: (damaged Arrow file|not an Arrow IPC file|corrupt Arrow footer)[^\n]*\n$/);
  });

  test('inspecting it fails with one line that names the file', async () => {
    const { code, stderr } = await runCli(['inspect', 'scale/scaled'], fixture.root);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^pipeline inspect: \S*artifacts\/scale\/scaled\.arrow: (damaged Arrow file|not an Arrow IPC file|corrupt Arrow footer)[^\n]*\n$/);
  });
});

test('a column buffer shorter than its rows (a length rewritten inside the file) is named when a query scans it', async () => {
  // In the batch header, the price column's values are the Buffer struct { offset: 300 × 4 (after the
  // dates), length: 300 × 8 }: claim 8 bytes instead, still inside the body.
  const bytes = Uint8Array.from(intact);
  const { batch } = layout(bytes);
  const struct = new Uint8Array(16);
  new DataView(struct.buffer).setBigInt64(0, BigInt(ROWS * 4), true);
  new DataView(struct.buffer).setBigInt64(8, BigInt(ROWS * 8), true);
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(struct, batch);
  expect(at).toBeGreaterThan(batch);
  new DataView(bytes.buffer, bytes.byteOffset).setBigInt64(at + 8, 8n, true);
  await writeFile(path(), bytes);
  const sum = await runCli(['query', 'SELECT sum(price) FROM scale.scaled'], fixture.root);
  expect(sum.code).toBe(1);
  expect(sum.stderr).toMatch(/^pipeline query: \S*artifacts\/scale\/scaled\.arrow: damaged Arrow file: record batch 0: column "price": 1 values for 300 rows\n$/);
  expect((await runCli(['query', 'select 42'], fixture.root)).code).toBe(0);
  const inspect = await runCli(['inspect', 'scale/scaled'], fixture.root);
  expect(inspect.stderr).toMatch(/^pipeline inspect: \S*artifacts\/scale\/scaled\.arrow: damaged Arrow file: record batch 0: column "price": 1 values for 300 rows\n$/);
});

test('the intact file reads back (the damage above is what breaks it)', async () => {
  await writeFile(path(), intact);
  const { code, stdout } = await runCli(['query', 'SELECT count(*) AS n, max(price) AS top FROM scale.scaled', '--csv'], fixture.root);
  expect(code).toBe(0);
  expect(stdout).toBe(`n,top\n${ROWS},${100 + ROWS - 1}\n`);
  expect(await readFile(path())).toEqual(Buffer.from(intact));
});
