import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../stages/aggregate.ts';
import { ingest } from '../stages/ingest.ts';
import { artifact, minutesProject, readJson, readRows, removeProject, runStage, utc, type Minute } from './data-helpers.ts';

// 2021-05-01 has only minutes without trades (a leading gap: nothing to carry), 05-02 trades, 05-03 has
// no rows at all, 05-04 has only no-trade minutes, 05-05 trades.
const minutes: Minute[] = [
  { t: utc('2021-05-01', 3) },
  { t: utc('2021-05-01', 4) },
  { t: utc('2021-05-02', 10), wp: 100 },
  { t: utc('2021-05-04', 8) },
  { t: utc('2021-05-05', 9), wp: 120 },
];

let root: string;
beforeAll(async () => {
  const project = await minutesProject(minutes);
  root = project.root;
  await runStage(ingest, root, { params: { source: 'data/minutes.csv' }, inputs: [project.csv] });
});
afterAll(() => removeProject(root));

const isoDates = (rows: Record<string, number | null>[]) => rows.map((r) => new Date(r.date!).toISOString().slice(0, 10));

describe('the aggregate report tells filled days from dropped days', () => {
  it('under ffill, lists the leading no-trade day as dropped and the inner gaps as filled', async () => {
    await runStage(aggregate, root, { params: { gaps: 'ffill' } });
    expect(isoDates(await readRows(artifact(root, 'aggregate', 'daily.arrow')))).toEqual(['2021-05-02', '2021-05-03', '2021-05-04', '2021-05-05']);
    expect(await readJson(artifact(root, 'aggregate', 'report.json'))).toMatchObject({
      gaps: 'ffill',
      days: 4,
      gap_count: 3,
      gap_days: ['2021-05-01', '2021-05-03', '2021-05-04'],
      filled_days: ['2021-05-03', '2021-05-04'],
      dropped_days: ['2021-05-01'],
    });
  });

  it('under drop, lists every gap as dropped and none as filled', async () => {
    await runStage(aggregate, root, { params: { gaps: 'drop' } });
    expect(isoDates(await readRows(artifact(root, 'aggregate', 'daily.arrow')))).toEqual(['2021-05-02', '2021-05-05']);
    expect(await readJson(artifact(root, 'aggregate', 'report.json'))).toMatchObject({
      gaps: 'drop',
      days: 2,
      gap_count: 3,
      gap_days: ['2021-05-01', '2021-05-03', '2021-05-04'],
      filled_days: [],
      dropped_days: ['2021-05-01', '2021-05-03', '2021-05-04'],
    });
  });
});
