import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../stages/ingest.ts';
import { artifact, readJson, readRows, removeProject, runStage, tempProject, utc, writeMinutesCsv } from './data-helpers.ts';

const HEADER = 'Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price';
const t0 = utc('2020-07-01');

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
});
afterAll(() => removeProject(root));

describe('a source path with glob characters is read as that one file', () => {
  it('reads a*b.csv alone, not also aXb.csv next to it', async () => {
    const star = join(root, 'data', 'a*b.csv');
    await writeMinutesCsv(star, [{ t: t0, wp: 10 }, { t: t0 + 60, wp: 11 }]);
    // Would match the pattern a*b.csv: its rows must not be merged in.
    await writeMinutesCsv(join(root, 'data', 'aXb.csv'), [{ t: t0 + 120, wp: 99 }, { t: t0 + 180, wp: 98 }, { t: t0 + 240, wp: 97 }]);
    await runStage(ingest, root, { params: { source: 'data/a*b.csv' }, inputs: [star] });
    const rows = await readRows(artifact(root, 'ingest', 'minutes.arrow'));
    expect(rows.map((r) => [r.timestamp! / 1000, r.weighted_price])).toEqual([
      [t0, 10],
      [t0 + 60, 11],
    ]);
    expect(await readJson(artifact(root, 'ingest', 'report.json'))).toMatchObject({ source: 'data/a*b.csv', rows_read: 2, rows_kept: 2 });
  });

  it('names the file as given in its errors, with its own line', async () => {
    const star = join(root, 'data', 'x*.csv');
    await writeFile(star, `${HEADER}\n${t0},1,1,1,1,1,1,1\n${t0 + 60},1,1,1,oops,1,1,1\n`);
    // Matched by the pattern x*.csv, with an earlier bad line: must not be what the error is about.
    await writeFile(join(root, 'data', 'x-other.csv'), `${HEADER}\n${t0},1,1,1,nope,1,1,1\n`);
    const error = await runStage(ingest, root, { inputs: [star], publish: false }).then(
      () => new Error('ingest succeeded'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toBe('data/x*.csv:3: column "Close": cannot parse "oops" as a number');
  });
});
