import { expectClose, loadFixture, testRandom } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { batchNearestNeighbours } from './chamfer-distance.js';
import {
  chamferDistanceHost,
  chamferDistanceHostBatch,
  neighbourJob,
  solveNeighbourTasks,
} from './chamfer-host.js';
import { DataError, ShapeError } from './errors.js';
import { hostPairCost } from './pair-cost.js';
import type { HostSetBatch } from './read-set-batch.js';

const fixture = loadFixture(import.meta.dirname, 'chamfer.json');

/** The valid points of set `s` of a fixture side as a flat array. */
function validPoints(points: number[][][], mask: boolean[][] | undefined, s: number): number[] {
  return points[s].filter((_, i) => !mask || mask[s][i]).flat();
}

function hostBatch(points: number[][][], mask: boolean[][] | undefined): HostSetBatch {
  const [batch, n, d] = [points.length, points[0].length, points[0][0].length];
  const valid = points.map((_, s) =>
    Int32Array.from(points[s].flatMap((_, i) => (!mask || mask[s][i] ? [i] : []))),
  );
  return { values: Float32Array.from(points.flat(2)), batch, n, d, valid, dense: !mask };
}

function bruteForce(a: Float64Array, n: number, b: Float64Array, m: number, d: number, huber = false) {
  const cost = hostPairCost(huber ? 'huber' : 'sqeuclidean');
  const aMin = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const aArg = new Int32Array(n).fill(-1);
  const bMin = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
  const bArg = new Int32Array(m).fill(-1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const e = cost(a, i, b, j, d);
      if (e < aMin[i]) [aMin[i], aArg[i]] = [e, j];
      if (e < bMin[j]) [bMin[j], bArg[j]] = [e, i];
    }
  }
  return { aMin, aArg, bMin, bArg };
}

describe('chamferDistanceHost', () => {
  for (const c of fixture.cases) {
    it(`matches the fixture ${c.name} in float32 and float64`, () => {
      for (const Array_ of [Float32Array, Float64Array]) {
        for (let s = 0; s < c.B; s++) {
          const xa = validPoints(c.x, c.mask_x, s);
          const ya = validPoints(c.y, c.mask_y, s);
          const a = { values: Array_.from(xa), n: xa.length / c.D, d: c.D };
          const b = { values: Array_.from(ya), n: ya.length / c.D, d: c.D };
          expectClose(chamferDistanceHost(a, b), c.mean_of_mins[s], { rtol: 1e-6 });
          expectClose(chamferDistanceHost(a, b, { pointReduction: 'sum' }), c.sum_of_mins[s], { rtol: 1e-6 });
        }
      }
    });
  }

  it('rejects bad host sets with typed errors', () => {
    const ok = { values: new Float32Array(6), n: 2, d: 3 };
    expect(() => chamferDistanceHost({ values: new Float32Array(5), n: 2, d: 3 }, ok)).toThrow(
      /a: expected a HostSet with values of length n·d = 2·3, got values.length=5/,
    );
    expect(() => chamferDistanceHost(ok, { values: [1, 2, 3] as any, n: 1, d: 3 })).toThrow(ShapeError);
    expect(() => chamferDistanceHost(ok, { values: new Float32Array(4), n: 2, d: 2 })).toThrow(
      /b: expected d = 3/,
    );
    expect(() => chamferDistanceHost(ok, { values: new Float32Array(0), n: 0, d: 3 })).toThrow(DataError);
    expect(() => chamferDistanceHost(ok, { values: Float32Array.of(0, Number.NaN, 0), n: 1, d: 3 })).toThrow(
      /b: expected finite values, got NaN at point 0/,
    );
    expect(() => chamferDistanceHost(ok, ok, { pointReduction: 'median' as any })).toThrow(/pointReduction/);
  });
});

describe('chamferDistanceHostBatch', () => {
  it('equals chamferDistanceHost pair by pair, with mixed sizes and array types', () => {
    const rand = testRandom(3);
    const set = (n: number, wide: boolean) => {
      const values = Float32Array.from({ length: n * 2 }, rand);
      return { values: wide ? Float64Array.from(values) : values, n, d: 2 };
    };
    const a = [set(5, false), set(200, true), set(1, false)];
    const b = [set(9, false), set(170, false), set(300, true)];
    for (const pointReduction of ['mean', 'sum'] as const) {
      const batch = chamferDistanceHostBatch(a, b, { pointReduction });
      expect(Array.from(batch)).toEqual(a.map((s, k) => chamferDistanceHost(s, b[k], { pointReduction })));
    }
    expect(chamferDistanceHostBatch([], []).length).toBe(0);
  });

  it('names the offending pair in errors', () => {
    const ok = { values: new Float32Array(6), n: 2, d: 3 };
    expect(() => chamferDistanceHostBatch([ok, ok], [ok])).toThrow(/b: expected an array of 2 host sets/);
    expect(() =>
      chamferDistanceHostBatch([ok, ok], [ok, { values: new Float32Array(4), n: 2, d: 2 }]),
    ).toThrow(/b\[1\]: expected d = 3/);
    expect(() =>
      chamferDistanceHostBatch([ok, { values: Float32Array.of(Number.NaN, 0, 0), n: 1, d: 3 }], [ok, ok]),
    ).toThrow(/a\[1\]: expected finite values/);
  });
});

describe('host nearest neighbours', () => {
  for (const c of fixture.cases.filter((k: any) => k.min_sqdist_x_to_y)) {
    it(`gives the per-point minima of the fixture ${c.name}`, () => {
      const a = hostBatch(c.x, c.mask_x);
      const b = hostBatch(c.y, c.mask_y);
      const job = batchNearestNeighbours(a, b, 'sqeuclidean');
      for (let s = 0; s < c.B; s++) {
        const gotA = Array.from(a.valid[s], (_, k) => job.aMin[job.aStart[s] + k]);
        const gotB = Array.from(b.valid[s], (_, k) => job.bMin[job.bStart[s] + k]);
        expectClose(
          gotA,
          Array.from(a.valid[s], (i) => c.min_sqdist_x_to_y[s][i]),
          { rtol: 1e-5, atol: 1e-7 },
        );
        expectClose(
          gotB,
          Array.from(b.valid[s], (j) => c.min_sqdist_y_to_x[s][j]),
          { rtol: 1e-5, atol: 1e-7 },
        );
      }
    });
  }

  for (const [d, huber] of [
    [1, false],
    [2, false],
    [3, false],
    [5, false],
    [2, true],
    [3, true],
  ] as const) {
    it(`equals brute force in both directions, ties to the lowest index (d = ${d}${huber ? ', Huber' : ''}, full scan and sweep)`, () => {
      const rand = testRandom(10 + d);
      // small sets take the full scan (sizes not multiples of its 4-row block), the last the sweep
      const sizes = [
        [1, 1],
        [7, 3],
        [13, 29],
        [150, 131],
      ];
      const aStart = Int32Array.from([0, 1, 8, 21, 171]);
      const bStart = Int32Array.from([0, 1, 4, 33, 164]);
      // many ties; a spread over 2 so the Huber cost uses both of its branches
      const grid = (length: number) => Float64Array.from({ length }, () => Math.round(rand() * 12) / 4);
      const a = grid(171 * d);
      const b = grid(164 * d);
      for (const [x, y] of [
        [a, b],
        [Float32Array.from(a), Float32Array.from(b)],
        [Float32Array.from({ length: 171 * d }, rand), Float32Array.from({ length: 164 * d }, rand)],
      ]) {
        const job = neighbourJob(x, aStart, y, bStart, d, huber);
        solveNeighbourTasks(job, 0, 4);
        sizes.forEach(([n, m], t) => {
          const ref = bruteForce(
            Float64Array.from(x.subarray(aStart[t] * d)),
            n,
            Float64Array.from(y.subarray(bStart[t] * d)),
            m,
            d,
            huber,
          );
          expect(Array.from(job.aMin.subarray(aStart[t], aStart[t] + n))).toEqual(Array.from(ref.aMin));
          expect(Array.from(job.aArg.subarray(aStart[t], aStart[t] + n))).toEqual(Array.from(ref.aArg));
          expect(Array.from(job.bMin.subarray(bStart[t], bStart[t] + m))).toEqual(Array.from(ref.bMin));
          expect(Array.from(job.bArg.subarray(bStart[t], bStart[t] + m))).toEqual(Array.from(ref.bArg));
        });
      }
    });
  }

  it('handles degenerate sets on the sweep path (all points equal, a constant axis)', () => {
    const n = 160; // n·m ≥ 2¹⁴: the sweep
    const same = new Float32Array(n * 3).fill(0.5);
    const line = Float32Array.from({ length: n * 3 }, (_, k) => (k % 3 === 1 ? Math.floor(k / 3) / n : 0.25));
    const job = neighbourJob(same, Int32Array.of(0, n), line, Int32Array.of(0, n), 3, false);
    solveNeighbourTasks(job, 0, 1);
    const ref = bruteForce(Float64Array.from(same), n, Float64Array.from(line), n, 3);
    expect(Array.from(job.aArg)).toEqual(Array.from(ref.aArg));
    expect(Array.from(job.bArg)).toEqual(Array.from(ref.bArg));
    expect(Array.from(job.bMin)).toEqual(Array.from(ref.bMin));
  });
});
