// On demand (SETGEN_BROWSER_BENCH=1; not part of `pnpm test`): the step times of
// browser-bench/page.ts in headless Chromium, printed as the bench JSON lines. It checks only
// that every measurement ran; the numbers go to the README.
import { resolve } from 'node:path';
import { describeInBrowser, openSuitePage } from '@setgen/testkit/browser';
import { describe, expect, it } from 'vitest';
import type { Timing } from '../browser-bench/page.js';

const run = process.env.SETGEN_BROWSER_BENCH === '1' ? describeInBrowser : describe.skip;

run('SetVAE and Chamfer step times in Chromium (wasm, webgl, webgpu; host vs device neighbours)', () => {
  it('measures every backend', async () => {
    const suite = await openSuitePage(resolve(import.meta.dirname, '../browser-bench'));
    try {
      const timings = await suite.results<Timing[]>();
      for (const t of timings) console.log(JSON.stringify(t));
      expect(suite.errors).toEqual([]);
      expect(timings.length).toBeGreaterThan(0);
      expect(timings.every((t) => Number.isFinite(t.median_ms) && t.median_ms > 0)).toBe(true);
    } finally {
      await suite.close();
    }
  }, 1_800_000);
});
