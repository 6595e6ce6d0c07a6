import { ConfigError, earthMoversDistance, type HostSet } from '@setgen/ops';
import { describeBackends, expectNoLeak, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chamferKernel } from './chamfer-kernel.js';
import { computeAllMetrics, computeAllMetricsWith, EVALUATED_PAIRS } from './compute-all-metrics.js';
import { localExecutor, type PairwiseExecutor } from './distance-matrices.js';
import { boundSlack, centroidDistance, centroids, emdBelowCutoff } from './emd-bounds.js';
import { computePrunedEmdMatrices } from './emd-pruning.js';
import { computeAllMetrics as computeAllMetricsPooled } from './node.js';

type Rand = () => number;
const gaussian = (rand: Rand) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** A "category": points on ellipsoids whose axes vary by ±`spread` around (1, 0.5, 0.3). */
function category(rand: Rand, k: number, n: number, spread = 0.2, noise = 0): HostSet[] {
  return Array.from({ length: k }, () => {
    const axes = [1, 0.5, 0.3].map((s) => s * (1 + spread * (2 * rand() - 1)));
    const values = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const v = [gaussian(rand), gaussian(rand), gaussian(rand)];
      const r = Math.hypot(...v);
      for (let c = 0; c < 3; c++) values[3 * i + c] = (axes[c] * v[c]) / r + noise * gaussian(rand);
    }
    return { values, n, d: 3 };
  });
}

const jitter = (rand: Rand, cloud: HostSet, scale: number): HostSet => ({
  ...cloud,
  values: cloud.values.map((v) => v + scale * (2 * rand() - 1)),
});

async function expectSameAsFull(generated: HostSet[], reference: HostSet[]) {
  const full = await computeAllMetrics(generated, reference, { distances: ['emd'], emdPruning: 'none' });
  const pruned = await computeAllMetrics(generated, reference, { distances: ['emd'] });
  expect(pruned).toEqual(full); // bitwise: the same row minima and the same first argmins
  expect(pruned[EVALUATED_PAIRS].emd.total).toBe(full[EVALUATED_PAIRS].emd.computed);
  return pruned[EVALUATED_PAIRS].emd;
}

describe("emdPruning: 'bounds' (exact metrics from row minima)", () => {
  it('equals the full matrices on a category, computing fewer exact pairs', async () => {
    const rand = testRandom(1);
    // shapes that differ (axes ±50 %), each reference with a noisier generated twin
    const ref = category(rand, 12, 48, 0.5);
    const gen = ref.map((cloud) => jitter(rand, cloud, 0.02)).reverse();
    const pairs = await expectSameAsFull(gen, ref);
    expect(pairs.total).toBe(12 * 12 + 2 * 66);
    expect(pairs.computed).toBeLessThan(0.5 * pairs.total);
    // and shapes of one family without twins (nearest neighbours less distinct)
    await expectSameAsFull(category(rand, 10, 48, 0.2, 0.02), category(rand, 9, 48));
  });

  it('equals the full matrices on uniform clouds of different sizes of collections', async () => {
    const rand = testRandom(2);
    const cube = (k: number) =>
      Array.from({ length: k }, () => ({
        values: Float64Array.from({ length: 30 * 3 }, () => rand() - 0.5),
        n: 30,
        d: 3,
      }));
    await expectSameAsFull(cube(7), cube(5));
    await expectSameAsFull(cube(1), cube(4));
    await expectSameAsFull(cube(3), cube(1));
    await expectSameAsFull(cube(1), cube(1)); // two clouds: nothing to prune, every pair
  });

  it('stops on abort with an AbortError', async () => {
    const rand = testRandom(11);
    const controller = new AbortController();
    const run = computeAllMetrics(category(rand, 6, 24), category(rand, 6, 24), {
      distances: ['emd'],
      signal: controller.signal,
      onProgress: (done) => {
        if (done > 0) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('breaks ties as the full matrices: identical clouds, duplicates, translated copies', async () => {
    const rand = testRandom(3);
    const [a, b, c] = category(rand, 3, 40);
    // every distance 0: 1-NNA 50 %, COV by the first reference
    await expectSameAsFull([a, a, a], [a, a]);
    // duplicates across and within the collections
    await expectSameAsFull([b, a, c, a], [c, a, b, b]);
    // translated copies: the centroid bound equals the EMD exactly (the slack must keep them)
    const shift = (cloud: HostSet, t: number[]) => ({
      ...cloud,
      values: cloud.values.map((v, i) => v + t[i % 3]),
    });
    await expectSameAsFull(
      [shift(a, [0.3, 0, 0]), shift(a, [0, 0.3, 0]), b],
      [a, shift(a, [0, 0, 0.3]), shift(a, [0.3, 0, 0])],
    );
  });

  it('equals the full matrices on nearly coincident clouds (jitter 1e-9 and 1e-6)', async () => {
    const rand = testRandom(4);
    const [a, b] = category(rand, 2, 32);
    const gen = [jitter(rand, a, 1e-9), jitter(rand, b, 1e-6), jitter(rand, a, 1e-6)];
    const ref = [a, jitter(rand, a, 1e-9), b, jitter(rand, b, 1e-9)];
    await expectSameAsFull(gen, ref);
  });

  it('uses the sparse exact solver (n ≥ 256) and the worker pool with the same results', async () => {
    const rand = testRandom(5);
    const ref = category(rand, 6, 256, 0.5);
    const gen = ref.map((cloud) => jitter(rand, cloud, 0.01));
    const full = await computeAllMetricsPooled(gen, ref, {
      distances: ['emd'],
      emdPruning: 'none',
      workers: 2,
    });
    const pruned = await computeAllMetricsPooled(gen, ref, { distances: ['emd'], workers: 2 });
    expect(pruned).toEqual(full);
    expect(pruned[EVALUATED_PAIRS].emd.computed).toBeLessThan(pruned[EVALUATED_PAIRS].emd.total);
    const local = await computeAllMetrics(gen, ref, { distances: ['emd'] });
    expect(local['COV-EMD']).toBe(full['COV-EMD']);
    expect(local['1-NNA-EMD']).toBe(full['1-NNA-EMD']);
    expect(local['MMD-EMD']).toBeCloseTo(full['MMD-EMD'], 12);
  });

  it("stops the solver at the search's best value (its dual cutoff) with the same metrics, ties and twins included", async () => {
    const rand = testRandom(11);
    const ref = category(rand, 5, 256, 0.3);
    // twins (a jittered reference), exact duplicates (tied distances to every cloud), strangers
    const gen = [jitter(rand, ref[0], 0.01), ref[1], ref[1], ref[3], ...category(rand, 2, 256, 0.3, 0.01)];
    const kernel = chamferKernel();
    const clouds = [...gen, ...ref];
    const indexes = clouds.map((c) => kernel.buildIndex(c.values, c.n, c.d));
    let solverStops = 0;
    // the local executor, counting the solver runs that stopped above their nearest-neighbour bound
    const counting: PairwiseExecutor = (job, tasks, done, signal) =>
      localExecutor(
        job,
        tasks,
        (task, values, pairs) => {
          if (values.length === 3 && Number.isNaN(values[0]) && values[2] === 1) {
            const [a, b] = [indexes[pairs[0]], indexes[pairs[1]]];
            const nearest = Math.max(
              kernel.sumOfNearestDistances(a, b) / a.n,
              kernel.sumOfNearestDistances(b, a) / b.n,
            );
            expect(values[1]).toBeGreaterThan(nearest); // the solver's own bound
            expect(values[1]).toBeLessThanOrEqual(earthMoversDistance(clouds[pairs[0]], clouds[pairs[1]]));
            solverStops++;
          }
          done(task, values, pairs);
        },
        signal,
      );
    const options = { distances: ['emd' as const] };
    const pruned = await computeAllMetricsWith(counting, gen, ref, options);
    const full = await computeAllMetrics(gen, ref, { ...options, emdPruning: 'none' });
    expect(pruned).toEqual(full);
    expect(solverStops).toBeGreaterThan(0);
    expect(pruned[EVALUATED_PAIRS].emd.stopped).toBe(solverStops);
  });

  it('computes every pair it keeps: kept entries are exact, skipped ones +∞ and not below the minimum', async () => {
    const rand = testRandom(6);
    const gen = category(rand, 6, 24, 0.3);
    const ref = category(rand, 5, 24, 0.3);
    const clouds = [...gen, ...ref];
    const { matrices, pairs } = await computePrunedEmdMatrices(
      { clouds, nGen: 6, nRef: 5, distance: 'emd', emd: 'exact' },
      localExecutor,
      { pivots: 2 },
    );
    let finite = 0;
    for (let g = 0; g < 6; g++) {
      for (let r = 0; r < 5; r++) {
        const v = matrices.genRef[g * 5 + r];
        const e = earthMoversDistance(gen[g], ref[r]);
        if (Number.isFinite(v)) {
          expect(v).toBe(e);
          finite++;
        } else {
          // a skipped pair is never the nearest of its row or column
          let rowMin = Number.POSITIVE_INFINITY;
          for (let s = 0; s < 5; s++) rowMin = Math.min(rowMin, earthMoversDistance(gen[g], ref[s]));
          expect(e).toBeGreaterThanOrEqual(rowMin);
        }
      }
    }
    expect(finite).toBeGreaterThan(0);
    expect(pairs.computed).toBeLessThanOrEqual(pairs.total);
  });

  it('reports progress up to the pair total', async () => {
    const rand = testRandom(7);
    const calls: [number, number][] = [];
    await computeAllMetrics(category(rand, 4, 20), category(rand, 4, 20), {
      distances: ['emd'],
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls[0]).toEqual([0, 16 + 12]);
    expect(calls.at(-1)).toEqual([28, 28]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
  });
});

describeBackends('pruned EMD metrics with [K, N, D] tensors', () => {
  it('reads tensors without leaking, and reports the pairs of CD too (not enumerable)', async () => {
    const rand = testRandom(8);
    const gen = tf.tensor3d(
      Float32Array.from({ length: 4 * 16 * 3 }, () => rand() - 0.5),
      [4, 16, 3],
    );
    const ref = tf.tensor3d(
      Float32Array.from({ length: 3 * 16 * 3 }, () => rand() - 0.5),
      [3, 16, 3],
    );
    let m: Awaited<ReturnType<typeof computeAllMetrics>> | undefined;
    await expectNoLeak(async () => {
      m = await computeAllMetrics(gen, ref);
    });
    expect(Object.keys(m ?? {})).toHaveLength(6);
    expect(m?.[EVALUATED_PAIRS].cd).toEqual({ computed: 12 + 6 + 3, total: 21 });
    expect(m?.[EVALUATED_PAIRS].emd.total).toBe(21);
    tf.dispose([gen, ref]);
  });
});

describe('emdPruning options', () => {
  it('rejects pruning with an inexact EMD and unknown values (ConfigError)', async () => {
    const rand = testRandom(9);
    const clouds = category(rand, 2, 8);
    await expect(
      computeAllMetrics(clouds, clouds, { distances: ['emd'], emd: 'auction', emdPruning: 'bounds' }),
    ).rejects.toThrow(ConfigError);
    await expect(
      computeAllMetrics(clouds, clouds, { distances: ['emd'], emdPruning: 'pivots' as 'bounds' }),
    ).rejects.toThrow(/emdPruning/);
    // the inexact solvers default to every pair
    const m = await computeAllMetrics(clouds, clouds, { distances: ['emd'], emd: 'auction' });
    expect(m[EVALUATED_PAIRS].emd.computed).toBe(m[EVALUATED_PAIRS].emd.total);
  });
});

describe('EMD lower bounds (emd-bounds.ts)', () => {
  it('centroid, nearest-neighbour and pivot bounds never exceed the exact EMD', () => {
    const rand = testRandom(10);
    const kernel = chamferKernel();
    for (let trial = 0; trial < 20; trial++) {
      const n = 4 + Math.floor(rand() * 40);
      const clouds =
        trial % 2 === 0
          ? category(rand, 3, n, 0.4, 0.05)
          : Array.from({ length: 3 }, () => ({
              values: Float64Array.from({ length: n * 3 }, () => rand() * (1 + trial)),
              n,
              d: 3,
            }));
      const [a, b, p] = clouds;
      const emd = earthMoversDistance(a, b);
      const means = centroids(clouds);
      expect(centroidDistance(means, 3, 0, 1)).toBeLessThanOrEqual(emd + 1e-12);
      const pivot = Math.abs(earthMoversDistance(a, p) - earthMoversDistance(b, p));
      expect(pivot).toBeLessThanOrEqual(emd + boundSlack(clouds));
      const [ia, ib] = [a, b].map((c) => kernel.buildIndex(c.values, c.n, c.d));
      const out = new Float64Array(3);
      const exact = () => ({ value: earthMoversDistance(a, b), exact: true });
      emdBelowCutoff(kernel, ia, ib, Number.MAX_VALUE, false, exact, out, 0);
      expect(out[0]).toBe(emd); // below the cutoff: computed
      expect(out[1]).toBeGreaterThan(0);
      expect(out[1]).toBeLessThanOrEqual(emd + 1e-12);
      // a cutoff under the bound skips the exact solver
      let called = false;
      const solver = () => {
        called = true;
        return { value: 0, exact: true };
      };
      const nearest = out[1];
      emdBelowCutoff(kernel, ia, ib, nearest / 2, false, solver, out, 0);
      expect(called).toBe(false);
      expect(out[0]).toBeNaN();
      expect(out[1]).toBeGreaterThan(nearest / 2); // one side may already pass the cutoff
      expect(out[1]).toBeLessThanOrEqual(nearest);
      // a solver that stops with a bound above the cutoff: NaN and the larger bound
      emdBelowCutoff(kernel, ia, ib, nearest, false, () => ({ value: 2 * nearest, exact: false }), out, 0);
      expect(out[0]).toBeNaN();
      expect(out[1]).toBe(2 * nearest);
      // with the nearest-neighbour bound known, only the solver runs
      emdBelowCutoff(kernel, ia, ib, nearest / 2, true, exact, out, 0);
      expect([...out]).toEqual([emd, 0, 1]);
    }
  });
});
