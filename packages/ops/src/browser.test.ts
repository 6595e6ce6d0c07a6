// @setgen/ops on every tfjs backend in headless Chromium (Debian's `chromium`, driven by
// playwright-core; .ci/run installs it and makes this suite mandatory): browser/page.ts runs
// Chamfer (every pair cost and point reduction), the Hungarian loss, Sinkhorn, pairwise
// distances, batchMatMul, fusedSoftmaxAttention and splitRows — padded batches with NaN in the padding, values and
// gradients — on wasm, cpu, webgl and webgpu; each is compared with wasm.
import { resolve } from 'node:path';
import { describeConformance, type Tolerance } from '@setgen/testkit/browser';
import type { BrowserBackend } from '@setgen/testkit/browser-page';
import { expect, it } from 'vitest';

/**
 * Bounds against wasm (|x − wasm| ≤ atol + rtol·|wasm|). cpu: the same float32 arithmetic in
 * another summation order. webgl / webgpu (SwiftShader): float32 as well, but shader
 * exp/log/sqrt are approximations of a few ulp and reductions are tiled differently.
 * Sinkhorn's 30 log-sum-exp iterations at ε = 0.05 amplify that tenfold.
 * Measured worst deviations: README.md (Browser).
 */
const TOLERANCE: Record<Exclude<BrowserBackend, 'wasm'>, Tolerance> = {
  cpu: { atol: 1e-5, rtol: 1e-5 },
  webgl: { atol: 1e-4, rtol: 1e-4 },
  webgpu: { atol: 1e-4, rtol: 1e-4 },
};

const CASES = [
  'chamfer sqeuclidean mean',
  'chamfer sqeuclidean sum',
  'hungarian sqeuclidean',
  'chamfer euclidean mean',
  'chamfer euclidean sum',
  'hungarian euclidean',
  'chamfer huber mean',
  'chamfer huber sum',
  'hungarian huber',
  'chamfer sqeuclidean sum, neighbours on the device',
  'chamfer euclidean sum, neighbours on the device',
  'chamfer huber sum, neighbours on the device',
  'sinkhorn eps 0.05',
  'pairwiseSquaredDistances',
  'batchMatMul',
  'fusedSoftmaxAttention',
  'splitRows',
];

describeConformance('@setgen/ops on wasm, cpu, webgl and webgpu in Chromium', {
  root: resolve(import.meta.dirname, '../browser'),
  cases: CASES,
  tolerance: (backend, name) => {
    const t = TOLERANCE[backend];
    return name.startsWith('sinkhorn') ? { atol: 10 * t.atol, rtol: 10 * t.rtol } : t;
  },
  extra: (results) => {
    it('padding gets exactly zero gradient (wasm)', () => {
      const { gradA } = results()[0].cases['chamfer sqeuclidean mean'].values;
      // a: sizes [9, 5, 1] of 9, 3 features; set 1 rows 5..8 and set 2 rows 1..8 are padding
      const padded = [...gradA.slice(27 + 15, 54), ...gradA.slice(54 + 3)];
      expect(padded.every((g) => g === 0)).toBe(true);
      expect(gradA.slice(0, 27).some((g) => g !== 0)).toBe(true);
    });

    it.each(['wasm', 'cpu', 'webgl', 'webgpu'] as const)(
      '%s: batchMatMul matches tf.matMul on the same backend',
      (backend) => {
        const { values } = results().find((r) => r.backend === backend)!.cases.batchMatMul;
        for (const key of ['product', 'gradA', 'gradB'] as const) {
          const ref = values[`ref${key[0].toUpperCase()}${key.slice(1)}`];
          const worst = Math.max(...values[key].map((v, i) => Math.abs(v - ref[i])));
          expect(worst, `${backend} ${key}`).toBeLessThan(2e-5);
        }
        // our SIMD kernel is registered where it runs (wasm, cpu); elsewhere batchMatMul is tf.matMul
        const ours = backend === 'wasm' || backend === 'cpu';
        expect(values['info.kernel']).toEqual([ours ? 1 : 0]);
        // Chromium validates WebAssembly relaxed SIMD by default (since 114): the FMA variant ran
        expect(values['info.relaxedSimd']).toEqual([1]);
        expect(values['info.fma']).toEqual([ours ? 1 : 0]);
      },
    );

    it.each(['wasm', 'cpu', 'webgl', 'webgpu'] as const)(
      '%s: the fused attention kernel runs on wasm and cpu and matches plain tf ops',
      (backend) => {
        const { values } = results().find((r) => r.backend === backend)!.cases.fusedSoftmaxAttention;
        expect(values['info.kernel']).toEqual([backend === 'wasm' || backend === 'cpu' ? 1 : 0]);
        const worst = Math.max(...values.out.map((v, i) => Math.abs(v - values.reference[i])));
        expect(worst, backend).toBeLessThan(2e-5);
      },
    );
  },
});
