// The report opened in a real headless Chromium (Debian's package), offline: the page loads with no
// console errors, fetches nothing but itself and its data: URIs, and the charts are drawn.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from './helpers/artifactFixture.ts';
import { runCli } from './helpers/cli.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture();
});
afterAll(() => fixture.cleanup());

/** Pixels that are not (near) white: a blank page or an empty image has none. */
function inkedPixels(png: Buffer): { inked: number; total: number } {
  const image = PNG.sync.read(png);
  let inked = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    const [r, g, b] = [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
    if (r < 235 || g < 235 || b < 235) inked++;
  }
  return { inked, total: image.width * image.height };
}

describe('pipeline report in a headless browser', () => {
  test('loads offline without console errors and renders both charts', async (ctx) => {
    // Under CI it must run: .ci/run installs Chromium with apt-get when it is missing.
    ctx.skip(!haveChromium && !process.env.CI, `${CHROMIUM} is not installed (.ci/run installs it with apt-get)`);
    expect((await runCli(['report'], fixture.root)).code).toBe(0);
    const page = pathToFileURL(join(fixture.root, 'artifacts', 'report.html')).href;

    const profile = await mkdtemp(join(tmpdir(), 'pipeline-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      offline: true,
      viewport: { width: 1100, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      tab.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      tab.on('pageerror', (error) => errors.push(error.message));
      tab.on('request', (request) => requests.push(request.url()));
      await tab.goto(page, { waitUntil: 'load' });

      expect(errors).toEqual([]);
      // Nothing but the page itself and its inlined images: no CDN, no web fonts.
      expect(requests.filter((url) => url !== page && !url.startsWith('data:'))).toEqual([]);

      const charts = tab.locator('img.chart');
      expect(await charts.count()).toBe(2);
      for (let i = 0; i < 2; i++) {
        const chart = charts.nth(i);
        const decoded = await chart.evaluate((element) => {
          const img = element as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number };
          return img.complete && img.naturalWidth > 0 && img.naturalHeight > 0;
        });
        expect(decoded).toBe(true);
        const box = await chart.boundingBox();
        expect(box!.width).toBeGreaterThan(100);
        expect(box!.height).toBeGreaterThan(50);
        const { inked, total } = inkedPixels(await chart.screenshot());
        // The fixture charts are a filled rectangle and a thick polyline: far from blank.
        expect(inked / total).toBeGreaterThan(0.01);
      }

      const shot = inkedPixels(await tab.screenshot({ fullPage: true }));
      expect(shot.inked).toBeGreaterThan(5000);
      await expect(tab.locator('#metrics').innerText()).resolves.toMatch(/rmse\s+61\.25\s+100\.00\s+USD/); // money to cents (issue 13, item 9)
      await expect(tab.locator('#stale-banner').innerText()).resolves.toMatch(/^Stale: sample, ingest/);
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
