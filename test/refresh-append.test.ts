// The daily refresh as a property: a source cut anywhere (inside a day, at midnight, at a month's end)
// and then refreshed by appending the rest, once or in several steps, ends with exactly what a run from
// scratch on the whole file gives: the same minutes files byte for byte (so the same rows and values),
// the same daily.arrow byte for byte, and the same reports but for how they were made.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../pipeline/runner/executor.ts';
import { loadProject } from '../pipeline/runner/project.ts';
import { readJson, readRows } from './data-helpers.ts';
import { csvText, headerLine, barLine, minuteBars, replaceFile, type LayoutName } from './helpers/minuteFiles.ts';

// 2021-12-31, then 2022-01-30 .. 02-03 (a gap of four weeks between): three months, 01-31 without any
// trade. minutes.arrow holds one file per month. The issue's rule: aggregate computes again only the
// days from the previous data's last day (which may have been incomplete) to the new end, and takes
// every earlier day over, even inside a month whose file was rebuilt.
const bars = [
  ...minuteBars({ first: '2021-12-31', days: 1, seed: 16 }),
  ...minuteBars({ first: '2022-01-30', days: 5, seed: 17, silent: ['2022-01-31'] }),
];
const FIRST_JANUARY = 1440;
const FIRST_FEBRUARY = 3 * 1440;

const dayOf = (t: number) => new Date(Math.floor(t / 86_400) * 86_400_000).toISOString().slice(0, 10);
/** The first day aggregate computes again when the file had `previous` rows: the day of its last minute. */
const recomputedFrom = (previous: number): string => dayOf(bars[previous - 1]!.t);

/** Seeded cut points: row counts of the file before the refresh. */
function cuts(seed: number): { name: string; rows: number[] }[] {
  let state = seed;
  const random = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return 1 + Math.floor((state / 4294967296) * (n - 1));
  };
  const insideDay = () => {
    for (;;) {
      const r = random(bars.length - 1);
      if (r % 1440 !== 0) return r;
    }
  };
  const three = [insideDay(), insideDay(), insideDay()].sort((a, b) => a - b);
  return [
    { name: 'inside a day', rows: [insideDay()] },
    { name: 'at midnight', rows: [FIRST_JANUARY + 1440] },
    { name: 'at the end of a month (2022-01-01 00:00)', rows: [FIRST_JANUARY] },
    { name: 'at the end of a month (2022-02-01 00:00)', rows: [FIRST_FEBRUARY] },
    { name: 'inside the day without trades', rows: [FIRST_JANUARY + 1440 + 700] },
    { name: 'in the first month (nothing before it to take over)', rows: [600] },
    { name: 'one minute before the end', rows: [bars.length - 1] },
    { name: 'three refreshes in a row', rows: [...new Set(three)] },
  ];
}

const workspaces: string[] = [];
afterAll(async () => {
  for (const dir of workspaces) await rm(dir, { recursive: true, force: true });
});

async function project(gaps: 'ffill' | 'drop'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pipeline-refresh-'));
  workspaces.push(root);
  await mkdir(join(root, 'data'));
  await replaceFile(join(root, 'pipeline.yaml'), `stages:\n  ingest: { source: data/btcusd_1-min_data.csv }\n  aggregate: { gaps: ${gaps} }\n`);
  return root;
}

async function run(root: string) {
  const result = await runPipeline(await loadProject({ cwd: root }), { targets: ['aggregate'] });
  expect(result.outcome).toBe('success');
  return {
    ingest: await readJson<Record<string, unknown>>(join(root, 'artifacts', 'ingest', 'report.json')),
    aggregate: await readJson<Record<string, unknown>>(join(root, 'artifacts', 'aggregate', 'report.json')),
  };
}

async function outputs(root: string) {
  const dir = join(root, 'artifacts', 'ingest', 'minutes.arrow');
  const parts = (await readdir(dir)).sort();
  return {
    parts: Object.fromEntries(await Promise.all(parts.map(async (p) => [p, await readFile(join(dir, p))] as const))),
    daily: await readFile(join(root, 'artifacts', 'aggregate', 'daily.arrow')),
  };
}

const withoutHow = (report: Record<string, unknown>) => {
  const { mode: _mode, reused_rows: _rows, reused_days: _days, ...rest } = report;
  return rest;
};

// Both layouts with the days without trades filled; the legacy one also with them dropped.
describe.each([
  ['legacy', 'ffill'],
  ['current', 'ffill'],
  ['legacy', 'drop'],
] as [LayoutName, 'ffill' | 'drop'][])('refreshing a %s file by appending rows (gaps: %s)', (layout, gaps) => {
  const full = csvText(bars, layout);
  const text = (rows: number) => `${headerLine(layout)}\n${bars.slice(0, rows).map((b) => `${barLine(b, layout)}\n`).join('')}`;
  let scratch: { reports: Awaited<ReturnType<typeof run>>; files: Awaited<ReturnType<typeof outputs>>; dates: string[] };

  beforeAll(async () => {
    const root = await project(gaps);
    await replaceFile(join(root, 'data', 'btcusd_1-min_data.csv'), full);
    const reports = await run(root);
    expect(reports.ingest.mode).toBe('full');
    const dates = (await readRows(join(root, 'artifacts', 'aggregate', 'daily.arrow'))).map((r) => new Date(r.date!).toISOString().slice(0, 10));
    scratch = { reports, files: await outputs(root), dates };
    // The refresh has files to keep and files to rebuild.
    expect(Object.keys(scratch.files.parts)).toEqual(['2021-12.arrow', '2022-01.arrow', '2022-02.arrow']);
    // ffill: every day from 12-31 to 02-03; drop: without the four weeks between and 01-31.
    expect(dates).toHaveLength(gaps === 'ffill' ? 35 : 5);
  });

  const scenarios = cuts(layout === 'legacy' ? 7 : 8);
  for (const { name, rows } of gaps === 'ffill' ? scenarios : scenarios.filter((c) => /midnight|without trades|three/.test(c.name))) {
    it(`gives what a run from scratch gives: cut ${name}`, async () => {
      const root = await project(gaps);
      const source = join(root, 'data', 'btcusd_1-min_data.csv');
      await replaceFile(source, text(rows[0]!));
      let before = await run(root);
      let previous = rows[0]!;
      for (const next of [...rows.slice(1), bars.length]) {
        // Each refresh replaces the file, as a new download does (a new inode).
        await replaceFile(source, text(next));
        const after = await run(root);
        expect(after.ingest).toMatchObject({ mode: 'append', reused_rows: before.ingest.rows_kept, rows_kept: next });
        // Taken over: every day before the previous last day, as a run from scratch has them; computed:
        // that day and the new ones (with ffill, every date up to the new last minute's day).
        const from = recomputedFrom(previous);
        const reused = scratch.dates.filter((date) => date < from).length;
        expect(after.aggregate).toMatchObject(reused > 0 ? { mode: 'append', reused_days: reused } : { mode: 'full', reused_days: 0 });
        if (gaps === 'ffill' && reused > 0) {
          const computed = scratch.dates.filter((date) => date >= from && date <= dayOf(bars[next - 1]!.t)).length;
          expect((after.aggregate.days as number) - reused, `computed from ${from}`).toBe(computed);
        }
        before = after;
        previous = next;
      }
      const files = await outputs(root);
      expect(Object.keys(files.parts)).toEqual(Object.keys(scratch.files.parts));
      for (const [part, bytes] of Object.entries(files.parts)) expect(bytes.equals(scratch.files.parts[part]!), part).toBe(true);
      expect(files.daily.equals(scratch.files.daily)).toBe(true);
      expect(withoutHow(before.ingest)).toEqual(withoutHow(scratch.reports.ingest));
      expect(withoutHow(before.aggregate)).toEqual(withoutHow(scratch.reports.aggregate));
    });
  }
});
