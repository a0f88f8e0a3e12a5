import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

describe('pipeline inspect on JSON, images, CSV and text', () => {
  test('a JSON artifact is pretty-printed', async () => {
    const { code, stdout } = await runCli(['inspect', 'evaluate/metrics'], fixture.root);
    expect(code).toBe(0);
    expect(stdout).toContain(JSON.stringify(fixture.metrics, null, 2));
  });

  test('a PNG shows its path, size and pixel dimensions; an SVG its declared size', async () => {
    const png = JSON.parse((await runCli(['inspect', 'evaluate/prediction.png', '--json'], fixture.root)).stdout) as Record<string, unknown>;
    expect(png).toMatchObject({ path: 'artifacts/evaluate/prediction.png', format: 'image', width: 64, height: 48 });
    expect(png.size).toBeGreaterThan(0);
    const svg = JSON.parse((await runCli(['inspect', 'evaluate/prediction.svg', '--json'], fixture.root)).stdout) as Record<string, unknown>;
    expect(svg).toMatchObject({ width: 400, height: 300 });
    const text = (await runCli(['inspect', 'evaluate/prediction.png'], fixture.root)).stdout;
    expect(text).toMatch(/^dimensions\s+64 × 48 px$/m);
  });

  test('a CSV shows its header and counts its data rows', async () => {
    const d = JSON.parse((await runCli(['inspect', 'sample/minutes.csv', '--json'], fixture.root)).stdout) as Record<string, unknown>;
    expect(d.header).toEqual(['Timestamp', 'Open', 'High', 'Low', 'Close', 'Volume_(BTC)', 'Volume_(Currency)', 'Weighted_Price']);
    expect(d.rows).toBe(3);
  });

  test('a text artifact is printed as it is', async () => {
    const { stdout } = await runCli(['inspect', 'train/summary'], fixture.root);
    expect(stdout).toContain('lstm (LSTM)    [null,4]       96\n');
  });
});
