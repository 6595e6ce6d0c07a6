// @setgen/ops on every tfjs backend in headless Chromium (Debian's `chromium`, driven by
// playwright-core; .ci/run installs it and makes this suite mandatory): browser/page.ts runs
// Chamfer (every pair cost and point reduction), the Hungarian loss, Sinkhorn, pairwise
// distances, batchMatMul and splitRows — padded batches with NaN in the padding, values and
// gradients — on wasm, cpu, webgl and webgpu; each is compared with wasm.
import { resolve } from 'node:path';
import {
  compareBackends,
  describeInBrowser,
  openSuitePage,
  type Tolerance,
} from '@setgen/testkit/browser';
import type { BackendResult, BrowserBackend } from '@setgen/testkit/browser-page';
import { afterAll, beforeAll, expect, it } from 'vitest';

/**
 * Per backend, against wasm. cpu: the same float32 arithmetic in another summation order.
 * webgl / webgpu (SwiftShader): float32 too, but shader exp/log/sqrt are approximations
 * (a few ulp) and reductions are tiled differently; Sinkhorn's 30 log-sum-exp iterations at
 * ε = 0.05 amplify that, hence its wider bound.
 */
export const OPS_TOLERANCE: Record<Exclude<BrowserBackend, 'wasm'>, Tolerance> = {
  cpu: { atol: 1e-5, rtol: 1e-5 },
  webgl: { atol: 1e-4, rtol: 1e-4 },
  webgpu: { atol: 1e-4, rtol: 1e-4 },
};
const SINKHORN_FACTOR = 10;

let results: BackendResult[] = [];
let pageErrors: string[] = [];

describeInBrowser('@setgen/ops on wasm, cpu, webgl and webgpu in Chromium', () => {
  beforeAll(async () => {
    const suite = await openSuitePage(resolve(import.meta.dirname, '../browser'));
    try {
      results = await suite.results();
      pageErrors = suite.errors;
    } finally {
      await suite.close();
    }
  }, 240_000);

  afterAll(() => {
    const times = results.map((r) => `${r.backend} ${Object.values(r.cases).reduce((t, c) => t + c.ms, 0).toFixed(0)} ms`);
    console.info(`ops browser suite, time in the cases: ${times.join(', ')}`);
  });

  it('the page ran with no console error and every backend initialised', () => {
    expect(pageErrors).toEqual([]);
    expect(results.map((r) => [r.backend, r.ready, r.error])).toEqual([
      ['wasm', true, undefined],
      ['cpu', true, undefined],
      ['webgl', true, undefined],
      ['webgpu', true, undefined],
    ]);
  });

  it('wasm: every case ran, left no tensor behind and no NaN outside the padding', () => {
    const wasm = results[0];
    expect(Object.keys(wasm.cases).length).toBe(13);
    for (const [name, c] of Object.entries(wasm.cases)) {
      expect(c.error, name).toBeUndefined();
      expect(c.leaked, `${name}: tensors left`).toBe(0);
      for (const [key, values] of Object.entries(c.values)) {
        expect(values.every(Number.isFinite), `${name}.${key} finite`).toBe(true);
      }
    }
  });

  it('padding gets exactly zero gradient (wasm)', () => {
    const { gradA } = results[0].cases['chamfer sqeuclidean mean'].values;
    // a: sizes [9, 5, 1] of 9, 3 features; set 1 rows 5..8 and set 2 rows 1..8 are padding
    const padded = [...gradA.slice(27 + 15, 54), ...gradA.slice(54 + 3)];
    expect(padded.every((g) => g === 0)).toBe(true);
    expect(gradA.slice(0, 27).some((g) => g !== 0)).toBe(true);
  });

  it.each(['wasm', 'cpu', 'webgl', 'webgpu'] as const)('%s: batchMatMul matches tf.matMul on the same backend', (backend) => {
    const { values } = results.find((r) => r.backend === backend)!.cases.batchMatMul;
    for (const key of ['product', 'gradA', 'gradB'] as const) {
      const ref = values[`ref${key[0].toUpperCase()}${key.slice(1)}`];
      const worst = Math.max(...values[key].map((v, i) => Math.abs(v - ref[i])));
      expect(worst, `${backend} ${key}`).toBeLessThan(2e-5);
    }
    // our SIMD kernel is registered where it runs (wasm, cpu); elsewhere batchMatMul is tf.matMul
    expect(values['info.kernel']).toEqual([backend === 'wasm' || backend === 'cpu' ? 1 : 0]);
  });

  it.each(['cpu', 'webgl', 'webgpu'] as const)('%s: values and gradients match wasm, no leaks', (backend) => {
    const tolerance = (name: string): Tolerance => {
      const t = OPS_TOLERANCE[backend];
      return name.startsWith('sinkhorn') ? { atol: t.atol * SINKHORN_FACTOR, rtol: t.rtol * SINKHORN_FACTOR } : t;
    };
    const { failures, worst } = compareBackends(results[0], results.find((r) => r.backend === backend)!, tolerance);
    expect(failures).toEqual([]);
    console.info(`${backend} vs wasm, worst deviation (1 = the tolerance):`, worst);
  });
});
