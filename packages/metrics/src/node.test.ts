import type { HostSet } from '@setgen/ops';
import { expectClose, loadFixture, testRandom } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { computeAllMetrics as computeAllMetricsLocal } from './compute-all-metrics.js';
import { computeAllMetrics } from './node.js';

const fixture = loadFixture(import.meta.dirname, 'metrics.json');
const toSets = (pcs: number[][][]): HostSet[] =>
  pcs.map((pc) => ({ values: Float64Array.from(pc.flat()), n: pc.length, d: pc[0].length }));

function randomClouds(seed: number, k: number, n: number): HostSet[] {
  const rand = testRandom(seed);
  return Array.from({ length: k }, () => ({
    values: Float32Array.from({ length: n * 3 }, () => rand() - 0.5),
    n,
    d: 3,
  }));
}

describe('computeAllMetrics on worker threads (@setgen/metrics/node)', () => {
  it('gives exactly the single-threaded CD metrics, with progress to the total', async () => {
    const gen = randomClouds(1, 9, 100);
    const ref = randomClouds(2, 7, 100);
    const progress: number[] = [];
    const pooled = await computeAllMetrics(gen, ref, {
      distances: ['cd'],
      workers: 2,
      batchSize: 4,
      onProgress: (done, total) => {
        progress.push(done);
        expect(total).toBe(9 * 7 + 36 + 21);
      },
    });
    const local = await computeAllMetricsLocal(gen, ref, { distances: ['cd'] });
    expect(pooled).toEqual(local);
    expect(progress.at(-1)).toBe(120);
  });

  it('reproduces the fixture under CD and exact EMD (EMD workers load the built @setgen/ops)', async () => {
    const m = await computeAllMetrics(toSets(fixture.sample_pcs), toSets(fixture.ref_pcs), { workers: 2 });
    expectClose(m['MMD-CD'], fixture.metrics.CD.MMD, { rtol: 1e-6 });
    expectClose(m['1-NNA-CD'], fixture.metrics.CD['1-NNA'], { rtol: 1e-6 });
    expectClose(m['MMD-EMD'], fixture.metrics.EMD.MMD, { rtol: 1e-6 });
    expectClose(m['COV-EMD'], fixture.metrics.EMD.COV, { rtol: 1e-6 });
    expectClose(m['1-NNA-EMD'], fixture.metrics.EMD['1-NNA'], { rtol: 1e-6 });
  });

  it("runs PointFlow's approxmatch in the workers too", async () => {
    const gen = toSets(fixture.sample_pcs);
    const ref = toSets(fixture.ref_pcs);
    const opts = { distances: ['emd'] as const, emd: 'pointflow-approx' as const };
    const m = await computeAllMetrics(gen, ref, { ...opts, workers: 2 });
    expectClose(m['MMD-EMD'], fixture.metrics.EMD_pointflow_approx.MMD, { rtol: 1e-6 });
    expect(m['1-NNA-EMD']).toBe(await computeAllMetricsLocal(gen, ref, opts).then((l) => l['1-NNA-EMD']));
  });

  it('rejects promptly with an AbortError and stops the workers', async () => {
    const controller = new AbortController();
    const gen = randomClouds(3, 40, 512);
    const ref = randomClouds(4, 40, 512);
    const started = performance.now();
    let lastDone = 0;
    const run = computeAllMetrics(gen, ref, {
      distances: ['cd'],
      workers: 2,
      batchSize: 1,
      signal: controller.signal,
      onProgress: (done) => {
        lastDone = done;
        if (done >= 10) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(5000);
    const after = lastDone;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lastDone).toBe(after); // no progress after the rejection: workers are gone
    expect(lastDone).toBeLessThan(3160);
  });

  it('rejects bad options and input before starting workers', async () => {
    const sets = randomClouds(5, 2, 10);
    await expect(computeAllMetrics(sets, sets, { workers: 0 })).rejects.toThrow(/options.workers/);
    await expect(computeAllMetrics(sets, [], { workers: 2 })).rejects.toThrow(/reference.*empty/);
  });
});
