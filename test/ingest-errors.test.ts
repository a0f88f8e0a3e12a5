import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../stages/ingest.ts';
import { artifact, removeProject, runStage, tempProject, utc, writeMinutesCsv } from './data-helpers.ts';

const HEADER = 'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price';
/** Both accepted headers, as every header error lists them. */
const BOTH = `${HEADER} (legacy) or Timestamp,Open,High,Low,Close,Volume (current)`;
const t0 = utc('2021-06-01', 12);

let root: string;
let published: Buffer;

beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
  // An earlier good run whose artifacts must survive every failing run below.
  const good = join(root, 'data', 'good.csv');
  await writeMinutesCsv(good, [{ t: t0, wp: 35000 }, { t: t0 + 60, wp: 35010 }]);
  await runStage(ingest, root, { inputs: [good] });
  published = await readFile(artifact(root, 'ingest', 'minutes.arrow/2021-06.arrow'));
});
afterAll(() => removeProject(root));

/** Runs ingest on `content` written to data/<name> and returns the error message. */
async function failure(name: string, content: string): Promise<string> {
  const path = join(root, 'data', name);
  await writeFile(path, content);
  const error = await runStage(ingest, root, { params: { source: `data/${name}` }, inputs: [path] }).then(
    () => new Error('ingest succeeded'),
    (e: unknown) => e as Error,
  );
  return error.message;
}

const row = (t: number, close = '100') => `${t},100,101,99,${close},1,100,100`;

describe('ingest says exactly what is wrong with a bad CSV', () => {
  it('names a missing column with the expected and found headers', async () => {
    expect(await failure('missing.csv', `Timestamp,Open,High,Low,Close,Volume_(BTC),Weighted_Price\n${t0},1,1,1,1,1,1\n`)).toBe(
      `data/missing.csv:1: wrong columns (closest to the legacy layout: missing "Volume_(Currency)"): expected ${BOTH}, found Timestamp,Open,High,Low,Close,Volume_(BTC),Weighted_Price`,
    );
  });

  it('names an unexpected column', async () => {
    expect(await failure('extra.csv', `${HEADER},Symbol\n${row(t0)},BTC\n`)).toBe(
      `data/extra.csv:1: wrong columns (closest to the legacy layout: unexpected "Symbol"): expected ${BOTH}, found ${HEADER},Symbol`,
    );
  });

  it('gives file, line, column and text of a value that does not parse', async () => {
    expect(await failure('text.csv', `${HEADER}\n${row(t0)}\n${row(t0 + 60, 'abc')}\n${row(t0 + 120)}\n`)).toBe(
      'data/text.csv:3: column "Close": cannot parse "abc" as a number',
    );
  });

  it('reports the first of several bad lines and how many there are', async () => {
    const lines = [row(t0), row(t0 + 60), `x${t0 + 120},100,101,99,100,1,100,100`, row(t0 + 180, '1.2.3')];
    expect(await failure('two.csv', `${HEADER}\n${lines.join('\n')}\n`)).toBe(
      `data/two.csv:4: column "Timestamp": cannot parse "x${t0 + 120}" as an integer (unix seconds) (2 malformed lines in all)`,
    );
  });

  it('gives the line of a row with a missing field', async () => {
    expect(await failure('short.csv', `${HEADER}\n${row(t0)}\n${t0 + 60},100,101,99,100,1,100\n`)).toBe(
      'data/short.csv:3: expected 8 fields, found 7',
    );
  });

  it('gives the line and text of a timestamp that is not an integer instead of rounding it', async () => {
    expect(await failure('fraction.csv', `${HEADER}\n${row(t0)}\n${t0 + 60}.5,100,101,99,100,1,100,100\n${row(t0 + 120)}\n`)).toBe(
      `data/fraction.csv:3: column "Timestamp": cannot parse "${t0 + 60}.5" as an integer (unix seconds)`,
    );
  });

  it('quotes the whole text of a quoted field that does not parse', async () => {
    expect(await failure('quoted.csv', `${HEADER}\n${row(t0)}\n${t0 + 60},100,101,99,"1,5",1,100,100\n`)).toBe(
      'data/quoted.csv:3: column "Close": cannot parse "1,5" as a number',
    );
  });

  it('counts a quoted field with a comma as one field', async () => {
    expect(await failure('extra-field.csv', `${HEADER}\n${row(t0)}\n${row(t0 + 60)},"a,b"\n`)).toBe('data/extra-field.csv:3: expected 8 fields, found 9');
  });

  it('says that line 1 is blank rather than that the file is empty', async () => {
    expect(await failure('blank-first.csv', `\n${HEADER}\n${row(t0)}\n`)).toBe(`data/blank-first.csv:1: line 1 is blank; expected the header line ${BOTH}`);
  });

  it('rejects an empty file', async () => {
    expect(await failure('empty.csv', '')).toBe(`data/empty.csv: the file is empty; expected the header line ${BOTH}`);
  });

  it('rejects a header without rows', async () => {
    expect(await failure('header.csv', `${HEADER}\n`)).toBe('data/header.csv: has a header but no data rows');
  });

  it('rejects a file where every row is dropped', async () => {
    expect(await failure('dropped.csv', `${HEADER}\n${t0},100,99,101,100,1,100,100\n`)).toBe(
      'data/dropped.csv: all 1 rows were dropped (high_below_low: 1, non_positive_price: 0, non_finite: 0)',
    );
  });

  it('names a missing file', async () => {
    const error = await runStage(ingest, root, { inputs: [join(root, 'data', 'nope.csv')] }).catch((e: Error) => e);
    expect((error as Error).message).toBe('data/nope.csv: cannot read the file (ENOENT)');
  });

  it('leaves the published artifacts untouched and writes nothing into them', async () => {
    expect(await readFile(artifact(root, 'ingest', 'minutes.arrow/2021-06.arrow'))).toEqual(published);
    expect((await readdir(join(root, 'artifacts', 'ingest'))).sort()).toEqual(['minutes.arrow', 'report.json']);
    expect(await readdir(artifact(root, 'ingest', 'minutes.arrow'))).toEqual(['2021-06.arrow']);
  });
});
