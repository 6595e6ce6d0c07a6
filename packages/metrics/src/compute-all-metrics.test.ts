import { ConfigError, DataError, type HostSet, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, loadFixture, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { computeAllMetrics } from './compute-all-metrics.js';

const fixture = loadFixture(import.meta.dirname, 'metrics.json');
const toSets = (pcs: number[][][]): HostSet[] =>
  pcs.map((pc) => ({ values: Float64Array.from(pc.flat()), n: pc.length, d: pc[0].length }));
const generated = toSets(fixture.sample_pcs);
const reference = toSets(fixture.ref_pcs);

function randomClouds(seed: number, k: number, n: number, d = 3, shift = 0): HostSet[] {
  const rand = testRandom(seed);
  return Array.from({ length: k }, () => ({
    values: Float64Array.from({ length: n * d }, () => rand() - 0.5 + shift),
    n,
    d,
  }));
}

describe('computeAllMetrics (PointFlow definitions)', () => {
  it('reproduces the fixture: MMD/COV/1-NNA under CD and exact EMD', async () => {
    const m = await computeAllMetrics(generated, reference);
    const e = fixture.metrics;
    expectClose(m['MMD-CD'], e.CD.MMD, { rtol: 1e-6 });
    expectClose(m['COV-CD'], e.CD.COV, { rtol: 1e-6 });
    expectClose(m['1-NNA-CD'], e.CD['1-NNA'], { rtol: 1e-6 });
    expectClose(m['MMD-EMD'], e.EMD.MMD, { rtol: 1e-6 });
    expectClose(m['COV-EMD'], e.EMD.COV, { rtol: 1e-6 });
    expectClose(m['1-NNA-EMD'], e.EMD['1-NNA'], { rtol: 1e-6 });
    expect(Object.keys(m).sort()).toEqual([
      '1-NNA-CD',
      '1-NNA-EMD',
      'COV-CD',
      'COV-EMD',
      'MMD-CD',
      'MMD-EMD',
    ]);
  });

  it("'auction' EMD agrees with the exact metrics on the fixture", async () => {
    const m = await computeAllMetrics(generated, reference, { distances: ['emd'], emd: 'auction' });
    expectClose(m['MMD-EMD'], fixture.metrics.EMD.MMD, { rtol: 1e-4 });
    expect(m['COV-EMD']).toBeCloseTo(fixture.metrics.EMD.COV, 6);
    expect(m['1-NNA-EMD']).toBeCloseTo(fixture.metrics.EMD['1-NNA'], 6);
  });

  it("'pointflow-approx' reproduces PointFlow's approxmatch metrics of the fixture", async () => {
    const m = await computeAllMetrics(generated, reference, { distances: ['emd'], emd: 'pointflow-approx' });
    const e = fixture.metrics.EMD_pointflow_approx;
    expectClose(m['MMD-EMD'], e.MMD, { rtol: 1e-6 });
    expectClose(m['COV-EMD'], e.COV, { rtol: 1e-6 });
    expectClose(m['1-NNA-EMD'], e['1-NNA'], { rtol: 1e-6 });
  });

  it('reports only the requested distances, with monotone progress up to the total', async () => {
    const calls: [number, number][] = [];
    const m = await computeAllMetrics(generated.slice(0, 5), reference.slice(0, 4), {
      distances: ['cd'],
      batchSize: 3,
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(Object.keys(m).sort()).toEqual(['1-NNA-CD', 'COV-CD', 'MMD-CD']);
    const total = 5 * 4 + 10 + 6;
    expect(calls[0]).toEqual([0, total]);
    expect(calls.at(-1)).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
  });

  it('a collection against itself: MMD 0, COV 100 %, 1-NNA 0 % (memorisation)', async () => {
    const m = await computeAllMetrics(reference, reference);
    expect(m['MMD-CD']).toBe(0);
    expect(m['MMD-EMD']).toBeCloseTo(0, 12);
    expect(m['COV-CD']).toBe(1);
    expect(m['COV-EMD']).toBe(1);
    expect(m['1-NNA-CD']).toBe(0);
  });

  it('identical clouds everywhere (all distances tie): 1-NNA 50 %', async () => {
    const one = reference[0];
    const m = await computeAllMetrics([one, one, one], [one, one, one]);
    expect(m['MMD-CD']).toBe(0);
    expect(m['1-NNA-CD']).toBe(0.5);
    expect(m['1-NNA-EMD']).toBe(0.5);
  });

  it('independent samples of one distribution: 1-NNA near 50 %; far-apart collections: 100 %', async () => {
    const a = randomClouds(1, 16, 32);
    const b = randomClouds(2, 16, 32);
    const same = await computeAllMetrics(a, b, { distances: ['cd'] });
    expect(same['1-NNA-CD']).toBeGreaterThan(0.25);
    expect(same['1-NNA-CD']).toBeLessThan(0.75);
    const far = await computeAllMetrics(a, randomClouds(3, 8, 32, 3, 10), { emd: 'auction' });
    expect(far['1-NNA-CD']).toBe(1);
    expect(far['1-NNA-EMD']).toBe(1);
  });

  it("accepts clouds of different sizes for 'pointflow-approx' EMD", async () => {
    const m = await computeAllMetrics(randomClouds(10, 3, 20), randomClouds(11, 2, 30), {
      distances: ['emd'],
      emd: 'pointflow-approx',
    });
    expect(m['MMD-EMD']).toBeGreaterThan(0);
    expect(Number.isFinite(m['1-NNA-EMD'])).toBe(true);
  });

  it('accepts clouds of different sizes for CD (2-D)', async () => {
    const rand = testRandom(9);
    const cloud = (n: number): HostSet => ({ values: Float32Array.from({ length: 2 * n }, rand), n, d: 2 });
    const m = await computeAllMetrics([cloud(5), cloud(17)], [cloud(9), cloud(3), cloud(30)], {
      distances: ['cd'],
    });
    expect(m['MMD-CD']).toBeGreaterThan(0);
    expect(m['COV-CD']).toBeGreaterThan(0);
  });

  it('rejects bad input with typed errors before any work', async () => {
    const cd = { distances: ['cd'] as const };
    await expect(computeAllMetrics([], reference, cd)).rejects.toThrow(DataError);
    await expect(computeAllMetrics([], reference, cd)).rejects.toThrow(/generated.*empty/);
    const twoD = randomClouds(4, 2, 64, 2);
    await expect(computeAllMetrics(twoD, reference)).rejects.toThrow(ShapeError);
    await expect(computeAllMetrics(twoD, reference)).rejects.toThrow(/dimension D = 2.*got D = 3/);
    const nan = randomClouds(5, 2, 64);
    nan[1].values[7] = Number.NaN;
    await expect(computeAllMetrics(nan, reference, cd)).rejects.toThrow(DataError);
    await expect(computeAllMetrics(nan, reference, cd)).rejects.toThrow(
      /generated\[1\].*NaN at point 2, coordinate 1/,
    );
    const short = randomClouds(6, 2, 60);
    await expect(computeAllMetrics(short, reference)).rejects.toThrow(ShapeError);
    await expect(computeAllMetrics(short, reference)).rejects.toThrow(/N = 60.*EMD needs equal sizes/);
    await expect(computeAllMetrics(generated, reference, { distances: ['chamfer' as 'cd'] })).rejects.toThrow(
      ConfigError,
    );
    await expect(computeAllMetrics(generated, reference, { emd: 'approx' as 'exact' })).rejects.toThrow(
      /options.emd/,
    );
    await expect(
      computeAllMetrics(generated, [{ values: new Float64Array(5), n: 2, d: 3 }], cd),
    ).rejects.toThrow(/reference\[0\].*HostSet/);
  });

  it('rejects with an AbortError when aborted, before or during the evaluation', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      computeAllMetrics(generated, reference, { signal: controller.signal }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    const during = new AbortController();
    const big = randomClouds(7, 30, 256);
    const started = performance.now();
    const run = computeAllMetrics(big, randomClouds(8, 30, 256), {
      batchSize: 1,
      onProgress: (done) => {
        if (done >= 5) during.abort();
      },
      signal: during.signal,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describeBackends('computeAllMetrics with [K, N, D] tensors', () => {
  it('gives the same numbers as host sets and leaves no tensor behind', async () => {
    const gen = tf.tensor3d(fixture.sample_pcs);
    const ref = tf.tensor3d(fixture.ref_pcs);
    let m: Awaited<ReturnType<typeof computeAllMetrics>> | undefined;
    await expectNoLeak(async () => {
      m = await computeAllMetrics(gen, ref, { distances: ['cd', 'emd'] });
    });
    expectClose(m!['MMD-CD'], fixture.metrics.CD.MMD, { rtol: 1e-4 });
    expectClose(m!['MMD-EMD'], fixture.metrics.EMD.MMD, { rtol: 1e-4 });
    expect(m!['1-NNA-CD']).toBeCloseTo(fixture.metrics.CD['1-NNA'], 6);
    expect(m!['COV-EMD']).toBeCloseTo(fixture.metrics.EMD.COV, 6);
    await expect(computeAllMetrics(tf.zeros([2, 3]) as tf.Tensor, ref)).rejects.toThrow(
      /generated.*\[K,N,D\].*\[2,3\]/,
    );
    gen.dispose();
    ref.dispose();
  });
});
