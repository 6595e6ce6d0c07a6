// The demo in headless Chromium, as a user gets it: `vite build` to static files, served by a
// plain static server, opened once. The page loads without a console error, draws samples
// (canvas pixels not blank), the cardinality slider changes the point count, and training
// runs a few steps on wasm and then on webgl (each its own test), and the loss curve is drawn.
// Screenshots go to out/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BROWSER_BUDGET_MS,
  collectPageErrors,
  describeInBrowser,
  launchChromium,
  serveStatic,
} from '@setgen/testkit/browser';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'out');

/** Share of a canvas's pixels that are not (near) white, over all canvases under `selector`. */
function inkOf(page: Page, selector: string): Promise<{ canvases: number; ink: number }> {
  return page.evaluate((sel) => {
    const canvases = Array.from(document.querySelectorAll<HTMLCanvasElement>(`${sel} canvas`));
    let inked = 0;
    let total = 0;
    for (const canvas of canvases) {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < data.length; i += 4) {
        total++;
        if (data[i + 3] > 0 && data[i] + data[i + 1] + data[i + 2] < 600) inked++;
      }
    }
    return { canvases: canvases.length, ink: total ? inked / total : 0 };
  }, selector);
}

describeInBrowser('browser demo (vite build, static server, headless Chromium)', () => {
  let page: Page;
  let errors: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    const site = mkdtempSync(join(tmpdir(), 'setgen-demo-'));
    cleanups.push(() => rmSync(site, { recursive: true, force: true }));
    await build({
      root,
      configFile: join(root, 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir: site, emptyOutDir: true },
    });
    const server = await serveStatic(site);
    cleanups.push(server.close);
    const browser = await launchChromium();
    cleanups.push(browser.close);
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 1400, height: 1000 });
    errors = collectPageErrors(page);
    mkdirSync(out, { recursive: true });
    // served from a sub-folder path too: the build uses relative URLs only
    await page.goto(`${server.url}?autotrain=0`, { timeout: BROWSER_BUDGET_MS });
    await page.evaluate(() => window.demo.ready);
  }, BROWSER_BUDGET_MS);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('opens with no console error and draws samples (canvas pixels not blank)', async () => {
    expect(errors).toEqual([]);
    const state = await page.evaluate(() => window.demo.state());
    expect(state.backend).toBe('wasm');
    expect(state.sampleCounts).toEqual([200, 200, 200, 200]);
    const samples = await inkOf(page, '#samples');
    expect(samples.canvases).toBe(1);
    // 800 points on four panels: ink well above an empty frame's, well below a filled canvas
    expect(samples.ink).toBeGreaterThan(0.01);
    expect(samples.ink).toBeLessThan(0.6);
    expect((await inkOf(page, '#reconstruction')).ink).toBeGreaterThan(0.01);
    expect((await inkOf(page, '#attention')).ink).toBeGreaterThan(0.01);
    await page.screenshot({ path: join(out, 'demo-opened.png'), fullPage: true });
  });

  it('the cardinality slider changes the number of points drawn', {
    timeout: BROWSER_BUDGET_MS,
  }, async () => {
    const before = await inkOf(page, '#samples');
    await page.locator('#cardinality').fill('1500');
    await page.waitForFunction(() => window.demo.state().sampleCounts[0] === 1500, undefined, {
      timeout: BROWSER_BUDGET_MS,
    });
    expect((await page.evaluate(() => window.demo.state())).sampleCounts).toEqual([1500, 1500, 1500, 1500]);
    expect((await inkOf(page, '#samples')).ink).toBeGreaterThan(before.ink);
    await page.screenshot({ path: join(out, 'demo-1500-points.png'), fullPage: true });
  });

  // Training compiles the model's shaders (webgl: SwiftShader on the CPU): alone on an idle
  // 2-core machine 3 steps take ≈ 1 s on wasm and ≈ 27 s on webgl (21 s of it the first step).
  // Beside the packages' browser suites they took 10× that (turbo now runs this test after
  // them), so each backend gets testkit's loaded-machine budget, BROWSER_BUDGET_MS.
  for (const backend of ['wasm', 'webgl'] as const) {
    it(`trains on ${backend} (finite losses, step time shown)`, { timeout: BROWSER_BUDGET_MS }, async () => {
      const before = await page.evaluate(() => window.demo.state().step);
      const started = performance.now();
      await page.evaluate((name) => window.demo.setBackend(name), backend);
      await page.evaluate(() => window.demo.train(3));
      console.info(`demo: 3 training steps on ${backend} in ${(performance.now() - started).toFixed(0)} ms`);
      const state = await page.evaluate(() => window.demo.state());
      expect(state.backend).toBe(backend);
      expect(state.step).toBe(before + 3);
      expect(Number.isFinite(state.lastLoss)).toBe(true);
      expect(state.stepMs).toBeGreaterThan(0);
      await expect
        .poll(() => page.locator('#step-time').textContent())
        .toMatch(/step \(batch of 8\): [\d.]+ ms/);
    });
  }

  it("draws the loss curve of both backends' steps, with no console error", async () => {
    expect((await page.evaluate(() => window.demo.state())).step).toBeGreaterThanOrEqual(6);
    expect((await inkOf(page, '#curve')).ink).toBeGreaterThan(0.005);
    await page.screenshot({ path: join(out, 'demo-trained.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
