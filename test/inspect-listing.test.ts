import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

interface Listed {
  stage: string;
  file: string;
  format: string;
  exists: boolean;
  rows: number | null;
  size: number | null;
  fresh: boolean;
  reasons: string[];
}

describe('pipeline inspect', () => {
  test('lists every declared artifact with its format, footer row count, size and freshness', async () => {
    const { code, stdout } = await runCli(['inspect', '--json'], fixture.root);
    expect(code).toBe(0);
    const listed = JSON.parse(stdout) as Listed[];
    // Every output the stages declare (sample is active: ingest reads the bundled sample).
    expect(listed.map((a) => `${a.stage}/${a.file}`)).toContain('evaluate/loss.png');
    // 33: train's spread.json, evaluate's seeds.arrow, forecast's 4 files and backtest's 4 included.
    expect(listed).toHaveLength(33);
    const daily = listed.find((a) => a.stage === 'aggregate' && a.file === 'daily.arrow')!;
    expect(daily.format).toBe('arrow');
    expect(daily.rows).toBe(fixture.days.length);
    expect(daily.size).toBe((await stat(join(fixture.root, 'artifacts/aggregate/daily.arrow'))).size);
    // No pipeline.lock: the runner has never produced these files, so they are stale.
    expect(daily.fresh).toBe(false);
    expect(daily.reasons.join(' ')).toMatch(/never run/);
    const minutes = listed.find((a) => a.stage === 'ingest' && a.file === 'minutes.arrow')!;
    expect(minutes.rows).toBe(fixture.minuteTimestamps.length);
    const missing = listed.find((a) => a.stage === 'scale' && a.file === 'scaled.arrow')!;
    // Not there: no size at all, which an empty file (0 bytes) can't be mistaken for.
    expect(missing).toMatchObject({ exists: false, rows: null, size: null, fresh: false });
    const png = listed.find((a) => a.file === 'prediction.png')!;
    expect(png).toMatchObject({ format: 'image', rows: null });
  });

  test('prints an aligned table on a terminal with one line per artifact', async () => {
    const { code, stdout } = await runCli(['inspect'], fixture.root);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^stage\s+file\s+format\s+rows\s+size\s+status$/);
    expect(lines).toHaveLength(2 + 33);
    const daily = lines.find((l) => l.includes('daily.arrow'))!;
    expect(daily).toMatch(/^aggregate\s+daily\.arrow\s+arrow\s+40\s+[\d.]+ KiB\s+stale: never run$/); // binary units, named as such (issue 13, item 9)
    expect(lines.find((l) => l.includes('scaled.arrow'))).toMatch(/missing$/);
    // Columns line up: every row's "format" column starts where the header's does.
    const at = lines[0]!.indexOf('format');
    for (const line of lines.slice(2)) expect(line.slice(at, at + 6).trim()).toMatch(/^(arrow|json|image|csv|text|binary)$/);
  });

  test('lists one stage\'s artifacts as CSV for a pipe', async () => {
    const { code, stdout } = await runCli(['inspect', 'evaluate', '--csv'], fixture.root);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toBe('stage,file,format,rows,size,fresh');
    expect(rows.map((r) => r.split(',')[1])).toEqual([
      'predictions.arrow',
      'metrics.json',
      'prediction.png',
      'prediction.svg',
      'loss.png',
      'loss.svg',
      'seeds.arrow',
    ]);
    // loss.png was never drawn in the fixture: an empty size, not 0.
    expect(rows[4]).toBe('evaluate,loss.png,image,,,false');
    expect(rows[0]).toBe(`evaluate,predictions.arrow,arrow,10,${(await stat(join(fixture.root, 'artifacts/evaluate/predictions.arrow'))).size},false`);
  });
});
