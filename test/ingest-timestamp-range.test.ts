// Timestamps must be unix seconds of a real minute: from 2009-01-03 (Bitcoin's first block) to the end
// of tomorrow, UTC. A file in milliseconds would otherwise ingest as 60,000 days in the year 52671.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../stages/ingest.ts';
import { readJson, removeProject, runStage, tempProject, utc } from './data-helpers.ts';
import { headerLine } from './helpers/minuteFiles.ts';

const LEGACY = headerLine('legacy');
const CURRENT = headerLine('current');

let root: string;
beforeAll(async () => {
  root = await tempProject();
  await mkdir(join(root, 'data'));
});
afterAll(() => removeProject(root));

async function ingestText(name: string, text: string): Promise<string | undefined> {
  const path = join(root, 'data', name);
  await writeFile(path, text);
  return runStage(ingest, root, { params: { source: `data/${name}` }, inputs: [path], publish: false }).then(
    () => undefined,
    (e: unknown) => (e as Error).message,
  );
}

const legacyRow = (t: number | string) => `${t},100,101,99,100,1,100,100`;
const DAY = 86_400;
/** The last day accepted, as the message prints it: tomorrow (UTC). */
const tomorrow = () => new Date((Math.floor(Date.now() / 1000 / DAY) + 1) * DAY * 1000).toISOString().slice(0, 10);
const range = () => `expected unix seconds from 2009-01-03 to ${tomorrow()} (UTC)`;

describe('ingest rejects timestamps that are not a plausible minute', () => {
  const t0 = utc('2020-09-13', 12, 26);

  it('milliseconds: the line, the value, and a hint', async () => {
    expect(await ingestText('ms.csv', `${LEGACY}\n${legacyRow(t0)}\n${legacyRow(1600000000000)}\n`)).toBe(
      `data/ms.csv:3: column "Timestamp": 1600000000000 is not a plausible time: ${range()}; it looks like milliseconds (2020-09-13T12:26:40Z): divide by 1000`,
    );
  });

  it('a whole file in milliseconds stops at its first line, in either layout', async () => {
    const rows = [0, 60, 120].map((s) => `${(t0 + s) * 1000}.0,100,101,99,100,1`);
    expect(await ingestText('ms-current.csv', `${CURRENT}\n${rows.join('\n')}\n`)).toBe(
      `data/ms-current.csv:2: column "Timestamp": ${t0 * 1000}.0 is not a plausible time: ${range()}; it looks like milliseconds (2020-09-13T12:26:00Z): divide by 1000`,
    );
  });

  it('microseconds and nanoseconds get their own hint', async () => {
    expect(await ingestText('us.csv', `${LEGACY}\n${legacyRow(t0 * 1_000_000)}\n`)).toBe(
      `data/us.csv:2: column "Timestamp": ${t0 * 1_000_000} is not a plausible time: ${range()}; it looks like microseconds (2020-09-13T12:26:00Z): divide by 1000000`,
    );
    // 1.6e18 is beyond 2^53: not exactly representable, so not read as an integer at all.
    expect(await ingestText('ns.csv', `${LEGACY}\n${legacyRow('1600000000000000000')}\n`)).toBe(
      'data/ns.csv:2: column "Timestamp": cannot parse "1600000000000000000" as an integer (unix seconds)',
    );
  });

  it('before 2009-01-03 or after tomorrow: the range, without a hint', async () => {
    expect(await ingestText('old.csv', `${LEGACY}\n${legacyRow(1230940799)}\n`)).toBe(
      `data/old.csv:2: column "Timestamp": 1230940799 is not a plausible time: ${range()}`,
    );
    const afterTomorrow = (Math.floor(Date.now() / 1000 / DAY) + 2) * DAY;
    expect(await ingestText('future.csv', `${LEGACY}\n${legacyRow(t0)}\n${legacyRow(afterTomorrow)}\n`)).toBe(
      `data/future.csv:3: column "Timestamp": ${afterTomorrow} is not a plausible time: ${range()}`,
    );
  });

  it('accepts the first second of 2009-01-03 and the last second of tomorrow', async () => {
    const lastOfTomorrow = (Math.floor(Date.now() / 1000 / DAY) + 2) * DAY - 1;
    expect(await ingestText('edges.csv', `${LEGACY}\n${legacyRow(1230940800)}\n${legacyRow(lastOfTomorrow)}\n`)).toBeUndefined();
    const edges = await runStage(ingest, root, { params: { source: 'data/edges.csv' }, inputs: [join(root, 'data', 'edges.csv')] });
    expect(edges.info).toHaveLength(1);
    expect(await readJson(join(root, 'artifacts', 'ingest', 'report.json'))).toMatchObject({ first_unix: 1230940800, last_unix: lastOfTomorrow });
  });
});
