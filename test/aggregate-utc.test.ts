import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minutesProject, removeProject, utc } from './data-helpers.ts';

// Minutes near UTC midnight: in Tokyo (UTC+9) or Los Angeles (UTC-8) local dates would split them
// differently. The UTC days are 2021-01-01 (100, 102) and 2021-01-02 (200, 204).
const minutes = [
  { t: utc('2021-01-01', 0, 0), wp: 100 },
  { t: utc('2021-01-01', 23, 59), wp: 102 },
  { t: utc('2021-01-02', 0, 0), wp: 200 },
  { t: utc('2021-01-02', 10, 30), wp: 204 },
];

let root: string;
let csv: string;
beforeAll(async () => {
  ({ root, csv } = await minutesProject(minutes));
});
afterAll(() => removeProject(root));

describe('daily buckets are UTC whatever the machine TZ', () => {
  for (const [tz, offset] of [
    ['Asia/Tokyo', -540],
    ['America/Los_Angeles', 480],
  ] as const) {
    it(`gives the UTC dates under TZ=${tz}`, async () => {
      const project = join(root, tz.replace('/', '-'));
      await mkdir(project);
      const output = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run-daily-child.ts'), project, csv], {
        cwd: join(import.meta.dirname, '..'),
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      const result = JSON.parse(output) as { offsetMinutes: number; dates: string[]; prices: number[]; report: Record<string, unknown> };
      // The child really ran in that zone...
      expect(result.offsetMinutes).toBe(offset);
      // ...and still bucketed by UTC date.
      expect(result.dates).toEqual(['2021-01-01', '2021-01-02']);
      expect(result.prices).toEqual([101, 202]);
      expect(result.report).toMatchObject({ first_timestamp: '2021-01-01T00:00:00.000Z', last_timestamp: '2021-01-02T10:30:00.000Z', days_covered: 2 });
    });
  }
});
