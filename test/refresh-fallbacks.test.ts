// Every way a refresh is not "rows appended" ends in a run from scratch, whose result is exactly that
// of a fresh project on the same file: an edit before the end, a shorter file, appended rows that are
// not all after the previous last minute, a previous file without a final newline, a gzipped source,
// changed params, --force, a missing or modified previous output. An error in the appended rows is
// reported at its line in the whole file. Ctrl-C during a refresh leaves the previous artifacts as
// they were. (Changed code and library versions: test/runner-incremental.test.ts.)
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { PipelineEvent } from '../pipeline/runner/events.ts';
import { runPipeline } from '../pipeline/runner/executor.ts';
import { loadProject } from '../pipeline/runner/project.ts';
import { readJson } from './data-helpers.ts';
import { barLine, headerLine, minuteBars, replaceFile, type LayoutName } from './helpers/minuteFiles.ts';

const bars = minuteBars({ first: '2022-02-26', days: 4, seed: 29 });
const SOURCE = 'data/btcusd_1-min_data.csv';

const lines = (layout: LayoutName, from: number, to: number) => bars.slice(from, to).map((b) => `${barLine(b, layout)}\n`).join('');
const text = (layout: LayoutName, rows: number) => `${headerLine(layout)}\n${lines(layout, 0, rows)}`;

const workspaces: string[] = [];
afterAll(async () => {
  for (const dir of workspaces) await rm(dir, { recursive: true, force: true });
});

class Project {
  readonly events: PipelineEvent[] = [];
  private constructor(readonly root: string) {}

  static async create(source: string | Uint8Array, config = ''): Promise<Project> {
    const root = await mkdtemp(join(tmpdir(), 'pipeline-fallback-'));
    workspaces.push(root);
    await mkdir(join(root, 'data'));
    const project = new Project(root);
    await project.config(config);
    await replaceFile(project.path(SOURCE), source);
    return project;
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  async config(extra = '', source = SOURCE): Promise<void> {
    await writeFile(this.path('pipeline.yaml'), `stages:\n  ingest: { source: ${source}${extra} }\n`);
  }

  async run(options: { force?: boolean; signal?: AbortSignal; set?: string[]; targets?: string[] } = {}) {
    this.events.length = 0;
    const project = await loadProject({ cwd: this.root, set: options.set ?? [] });
    // `--force` forces the stages named: both, as `pipeline run ingest aggregate --force`.
    const targets = options.targets ?? (options.force ? ['ingest', 'aggregate'] : ['aggregate']);
    const result = await runPipeline(project, { targets, force: options.force, signal: options.signal, onEvent: (e) => this.events.push(e) });
    return result;
  }

  async reports() {
    return {
      ingest: await readJson<Record<string, unknown>>(this.path('artifacts/ingest/report.json')),
      aggregate: await readJson<Record<string, unknown>>(this.path('artifacts/aggregate/report.json')),
    };
  }

  /** Every output file's bytes, by path inside artifacts/. */
  async outputs(): Promise<Record<string, Buffer>> {
    const out: Record<string, Buffer> = {};
    for (const name of (await readdir(this.path('artifacts/ingest/minutes.arrow'))).sort()) {
      out[`ingest/minutes.arrow/${name}`] = await readFile(this.path(`artifacts/ingest/minutes.arrow/${name}`));
    }
    out['aggregate/daily.arrow'] = await readFile(this.path('artifacts/aggregate/daily.arrow'));
    return out;
  }

  info(stage: string): string[] {
    return this.events.flatMap((e) => (e.type === 'info' && e.stage === stage ? [e.message] : []));
  }
}

/** What a fresh project makes of `source`: its outputs and reports. */
async function fromScratch(source: string | Uint8Array, config = '') {
  const project = await Project.create(source, config);
  expect((await project.run()).outcome).toBe('success');
  return { outputs: await project.outputs(), reports: await project.reports() };
}

/** A project that ran on the first `rows` minutes. */
async function ranOn(layout: LayoutName, rows: number, config = ''): Promise<Project> {
  const project = await Project.create(text(layout, rows), config);
  expect((await project.run()).outcome).toBe('success');
  return project;
}

async function expectFullRunLikeScratch(project: Project, source: string | Uint8Array, config = '') {
  const result = await project.run();
  expect(result.outcome).toBe('success');
  const reports = await project.reports();
  expect(reports.ingest).toMatchObject({ mode: 'full', reused_rows: 0 });
  const scratch = await fromScratch(source, config);
  expect(reports).toEqual(scratch.reports);
  expect(await project.outputs()).toEqual(scratch.outputs);
  return result;
}

describe('a refresh that is not rows appended runs from scratch, with the result of a fresh project', () => {
  test('an edit before the end (the appended rows notwithstanding)', async () => {
    const project = await ranOn('current', 3000);
    const edited = text('current', 4000).replace(`${barLine(bars[10]!, 'current')}\n`, `${barLine({ ...bars[10]!, close: bars[10]!.close + 1 }, 'current')}\n`);
    await replaceFile(project.path(SOURCE), edited);
    const result = await expectFullRunLikeScratch(project, edited);
    expect(result.stages[0]!.reasons).toEqual([`input changed (${SOURCE})`]);
  });

  test('a shorter file', async () => {
    const project = await ranOn('legacy', 3000);
    await replaceFile(project.path(SOURCE), text('legacy', 2500));
    await expectFullRunLikeScratch(project, text('legacy', 2500));
  });

  test('appended rows that repeat or go back before the previous last minute', async () => {
    for (const [what, extra] of [
      ['the last minute again', barLine({ ...bars[2999]!, close: 1 }, 'current')],
      ['an earlier minute', barLine({ ...bars[100]!, open: 2 }, 'current')],
    ] as const) {
      const project = await ranOn('current', 3000);
      const source = `${text('current', 3000)}${extra}\n${lines('current', 3000, 4000)}`;
      await replaceFile(project.path(SOURCE), source);
      await expectFullRunLikeScratch(project, source);
      expect(project.info('ingest')[0], what).toBe(`full run: the appended rows are not all after the previous last minute ${new Date(bars[2999]!.t * 1000).toISOString().replace('.000Z', 'Z')}`);
    }
  });

  test('a previous file that did not end with a complete line', async () => {
    const project = await Project.create(text('current', 3000).slice(0, -1));
    expect((await project.run()).outcome).toBe('success');
    await replaceFile(project.path(SOURCE), text('current', 4000));
    await expectFullRunLikeScratch(project, text('current', 4000));
    expect(project.info('ingest')[0]).toBe('full run: the previous source did not end with a complete line');
  });

  test('a gzipped source, even one that grew by a gzip member', async () => {
    const gz = (from: number, to: number, header: boolean) => execFileSync('gzip', ['-c'], { input: `${header ? `${headerLine('current')}\n` : ''}${lines('current', from, to)}` });
    const before = gz(0, 3000, true);
    const project = await Project.create(before);
    await project.config('', `${SOURCE}.gz`);
    await replaceFile(project.path(`${SOURCE}.gz`), before);
    expect((await project.run()).outcome).toBe('success');
    const after = Buffer.concat([before, gz(3000, 4000, false)]);
    await replaceFile(project.path(`${SOURCE}.gz`), after);
    const result = await project.run();
    expect(result.stages[0]!.reasons).toEqual([`input appended (${SOURCE}.gz)`]);
    expect(project.info('ingest')[0]).toBe('full run: a gzipped source is read whole');
    expect((await project.reports()).ingest).toMatchObject({ mode: 'full', rows_kept: 4000 });
  });

  test('changed params: ingest.layout, or aggregate.gaps for aggregate alone', async () => {
    const project = await ranOn('current', 3000);
    await replaceFile(project.path(SOURCE), text('current', 4000));
    await project.config(', layout: current');
    await expectFullRunLikeScratch(project, text('current', 4000), ', layout: current');

    await replaceFile(project.path(SOURCE), text('current', 5000));
    expect((await project.run({ set: ['aggregate.gaps=drop'] })).outcome).toBe('success');
    expect(await project.reports()).toMatchObject({ ingest: { mode: 'append' }, aggregate: { mode: 'full', reused_days: 0 } });
  });

  test('--force', async () => {
    const project = await ranOn('legacy', 3000);
    await replaceFile(project.path(SOURCE), text('legacy', 4000));
    const result = await project.run({ force: true });
    expect(result.stages.map((s) => s.action)).toEqual(['ran', 'ran']);
    expect(await project.reports()).toMatchObject({ ingest: { mode: 'full' }, aggregate: { mode: 'full' } });
  });

  test('a missing or modified previous output', async () => {
    for (const damage of [
      (p: Project) => rm(p.path('artifacts/ingest/minutes.arrow/2022-02.arrow')),
      (p: Project) => writeFile(p.path('artifacts/ingest/report.json'), '{}'),
    ]) {
      const project = await ranOn('current', 3000);
      await damage(project);
      await replaceFile(project.path(SOURCE), text('current', 4000));
      const result = await expectFullRunLikeScratch(project, text('current', 4000));
      expect(result.stages[0]!.reasons[1]).toMatch(/^output (missing|modified) \(artifacts\/ingest\//);
    }
  });
});

describe('what aggregate takes over', () => {
  // Feb 27 and 28, then Mar 1 and 2: the last month holds two days.
  const four = minuteBars({ first: '2022-02-27', days: 4, seed: 31 });
  const fourText = (rows: readonly typeof four[number][]) => `${headerLine('current')}\n${rows.map((b) => `${barLine(b, 'current')}\n`).join('')}`;

  test('an edit in the last month before its last day, with rows appended: that month is computed again', async () => {
    const project = await Project.create(fourText(four.slice(0, 3 * 1440 + 700)));
    expect((await project.run()).outcome).toBe('success');
    // Mar 1 edited (its close), Mar 2 completed: ingest reads the whole file, and only the March part differs.
    const edited = fourText([...four.slice(0, 2 * 1440 + 10), { ...four[2 * 1440 + 10]!, close: four[2 * 1440 + 10]!.close * 1.5, high: four[2 * 1440 + 10]!.close * 1.5 }, ...four.slice(2 * 1440 + 11)]);
    await replaceFile(project.path(SOURCE), edited);
    expect((await project.run()).outcome).toBe('success');
    // Not the rows appended: Mar 1 is computed again (with February, the days of the changed month's part).
    expect(await project.reports()).toMatchObject({ ingest: { mode: 'full' }, aggregate: { mode: 'append', reused_days: 2 } });
    expect(project.info('aggregate')[0]).toMatch(/; computed 2, reused 2 \(append\)$/);
    const scratch = await fromScratch(edited);
    expect(await project.outputs()).toEqual(scratch.outputs);
  });

  test('after several refreshes of ingest alone, aggregate still computes only from the last day it saw', async () => {
    const project = await ranOn('current', 3000);
    // Feb 28 was the last day aggregate saw; ingest alone then appends twice, into March.
    for (const rows of [4500, 5000]) {
      await replaceFile(project.path(SOURCE), text('current', rows));
      expect((await project.run({ targets: ['ingest'] })).outcome).toBe('success');
      expect((await project.reports()).ingest).toMatchObject({ mode: 'append', rows_kept: rows });
    }
    expect((await project.run()).outcome).toBe('success');
    // Feb 26 and 27 taken over; Feb 28 (incomplete before) and Mar 1 computed.
    expect((await project.reports()).aggregate).toMatchObject({ mode: 'append', reused_days: 2, days: 4 });
    expect(project.info('aggregate')[0]).toMatch(/; computed 2, reused 2 \(append\)$/);
    expect(await project.outputs()).toEqual((await fromScratch(text('current', 5000))).outputs);
  });
});

describe('what a refresh carries over', () => {
  test('a previous file that needed sorting and deduplicating: clean appended rows are still an append', async () => {
    // Rows 100..199 written back to front, and row 300 twice (the second without a trade).
    const body = [...bars.slice(0, 100), ...bars.slice(100, 200).reverse(), ...bars.slice(200, 301), { ...bars[300]!, traded: false }, ...bars.slice(301, 4820)];
    const messy = `${headerLine('legacy')}\n${body.map((b) => `${barLine(b, 'legacy')}\n`).join('')}`;
    const project = await Project.create(messy);
    expect((await project.run()).outcome).toBe('success');
    expect((await project.reports()).ingest).toMatchObject({ out_of_order: true, duplicates: 1 });
    const grown = `${messy}${lines('legacy', 4820, 5500)}`;
    await replaceFile(project.path(SOURCE), grown);
    expect((await project.run()).outcome).toBe('success');
    const reports = await project.reports();
    expect(reports).toMatchObject({ ingest: { mode: 'append', out_of_order: true, duplicates: 1, rows_read: 5501 }, aggregate: { mode: 'append' } });
    const scratch = await fromScratch(grown);
    expect(await project.outputs()).toEqual(scratch.outputs);
    const how = ({ mode: _m, reused_rows: _r, reused_days: _d, ...rest }: Record<string, unknown>) => rest;
    expect(how(reports.ingest)).toEqual(how(scratch.reports.ingest));
    expect(how(reports.aggregate)).toEqual(how(scratch.reports.aggregate));
  });
});

describe('errors and interruptions during a refresh', () => {
  test('a bad appended timestamp is reported at its line in the whole file; the previous artifacts stay', async () => {
    const project = await ranOn('legacy', 3000);
    const before = await project.outputs();
    const bad = `${text('legacy', 3000)}${lines('legacy', 3000, 3010)}${barLine(bars[3010]!, 'legacy').replace(String(bars[3010]!.t), `${bars[3010]!.t}000`)}\n`;
    await replaceFile(project.path(SOURCE), bad);
    const result = await project.run();
    expect(result.outcome).toBe('failed');
    expect(result.stages[0]!.error).toMatch(new RegExp(`^${SOURCE}:3012: column "Timestamp": ${bars[3010]!.t}000 is not a plausible time: .*; it looks like milliseconds`));
    expect(await project.outputs()).toEqual(before);
  });

  test('Ctrl-C during a refresh leaves the previous artifacts and lock intact; the next run refreshes', async () => {
    // Cut in March, so that aggregate has February's days to take over.
    const project = await ranOn('current', 4820);
    const lock = await readFile(project.path('pipeline.lock'), 'utf8');
    const before = await project.outputs();
    const inodes = await Promise.all(Object.keys(before).map(async (file) => (await stat(project.path(`artifacts/${file}`))).ino));
    await replaceFile(project.path(SOURCE), text('current', 5500));
    // Interrupt as soon as ingest reports progress: it has read the appended rows and is writing.
    const controller = new AbortController();
    const loaded = await loadProject({ cwd: project.root });
    const result = await runPipeline(loaded, {
      targets: ['aggregate'],
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.stage === 'ingest') controller.abort();
      },
    });
    expect(result.outcome).toBe('interrupted');
    expect(result.stages.map((s) => s.action)).toEqual(['interrupted', 'not-run']);
    expect(await project.outputs()).toEqual(before);
    expect(await Promise.all(Object.keys(before).map(async (file) => (await stat(project.path(`artifacts/${file}`))).ino))).toEqual(inodes);
    expect(await readFile(project.path('pipeline.lock'), 'utf8')).toBe(lock);
    expect(await readdir(project.path('artifacts/.staging')).catch(() => [])).toEqual([]);

    const again = await project.run();
    expect(again.outcome).toBe('success');
    expect(project.info('ingest')).toEqual(['appended 680 minutes to 4820 (append)']);
    expect(await project.reports()).toMatchObject({ ingest: { mode: 'append', reused_rows: 4820 }, aggregate: { mode: 'append', reused_days: 3 } });
    expect(await project.outputs()).toEqual((await fromScratch(text('current', 5500))).outputs);
  });
});
