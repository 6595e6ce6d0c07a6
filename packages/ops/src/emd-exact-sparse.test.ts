import { expectClose } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { earthMoversDistance } from './earth-movers-distance.js';
import {
  candidateGraph,
  nearestNeighbours3d,
  rankPairing,
  sparseExactEmd,
  sparseExactEmdBelow,
} from './emd-exact-sparse.js';
import { linearSumAssignment } from './linear-sum-assignment.js';
import { Random } from './random.js';
import type { HostSet } from './set-batch.js';
import { SparseAuction, sparseShortestPaths } from './sparse-assignment.js';

const random = new Random(31);

function cloud(n: number, d: number, value: (k: number) => number): HostSet {
  const values = new Float64Array(n * d);
  for (let k = 0; k < values.length; k++) values[k] = value(k);
  return { values, n, d };
}

/** Points on an ellipsoid's surface: two draws match locally, as generated vs reference shapes do. */
function ellipsoid(n: number): HostSet {
  const values = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const [x, y, z] = [random.normal(), random.normal(), random.normal()];
    const r = Math.hypot(x, y, z);
    values.set([x / r, (0.5 * y) / r, (0.3 * z) / r], 3 * i);
  }
  return { values, n, d: 3 };
}

/** The ellipsoid's surface stretched by `axes`: two such shapes match across the surface. */
function scaled(n: number, axes: number[]): HostSet {
  const { values } = ellipsoid(n);
  for (let k = 0; k < values.length; k++) values[k] *= axes[k % 3];
  return { values, n, d: 3 };
}

/** Σ_i ‖a_i − b_π(i)‖ at the optimum, through the dense solver. */
function denseOptimum(a: HostSet, b: HostSet): number {
  const { n, d } = a;
  const cost = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (a.values[i * d + k] - b.values[j * d + k]) ** 2;
      cost[i * n + j] = Math.sqrt(s);
    }
  }
  return linearSumAssignment(cost, { rows: n, cols: n }).cost;
}

describe('exact EMD on nearest-neighbour candidates, certified by the duals', () => {
  const cases: [string, () => [HostSet, HostSet]][] = [
    ['two draws of one surface (3-D, 400 points)', () => [ellipsoid(400), ellipsoid(400)]],
    [
      'uniform cube against a narrow Gaussian (non-local matching, many repairs)',
      () => [cloud(300, 3, () => random.uniform(-0.5, 0.5)), cloud(300, 3, () => 0.25 * random.normal())],
    ],
    [
      'two far-apart sets (candidates useless: falls back to dense)',
      () => [
        cloud(300, 3, () => random.normal()),
        cloud(300, 3, (k) => (k % 3 === 0 ? 10 : 0) + random.normal()),
      ],
    ],
    [
      'integer grid points with many ties (2-D)',
      () => [cloud(300, 2, () => random.int(5)), cloud(300, 2, () => random.int(5))],
    ],
    [
      'a flat square against a surface (degenerate cells on one side, 3-D)',
      () => [cloud(360, 3, (k) => (k % 3 === 2 ? 0 : random.uniform(-1, 1))), ellipsoid(360)],
    ],
    ['five dimensions', () => [cloud(260, 5, () => random.normal()), cloud(260, 5, () => random.normal())]],
    [
      'repeated points',
      () => {
        const a = cloud(256, 3, () => random.int(3));
        return [a, { ...a, values: a.values.slice().reverse() }];
      },
    ],
  ];
  // from 512 points (3-D) the candidates also follow a coarse matching's displacements
  cases.push(
    [
      'two shapes of different proportions (3-D, 640 points: displaced candidates)',
      () => [scaled(640, [1.2, 0.8, 1]), scaled(640, [0.85, 1.2, 0.9])],
    ],
    [
      'a dense core against a uniform cube (640 points, displaced candidates)',
      () => [cloud(640, 3, () => 0.1 * random.normal()), cloud(640, 3, () => random.uniform(-1, 1))],
    ],
    [
      'a flat square against a surface, with repeated points (640 points, displaced candidates)',
      () => [cloud(640, 3, (k) => (k % 3 === 2 ? 0 : random.int(6) / 3 - 1)), ellipsoid(640)],
    ],
  );
  for (const [name, make] of cases) {
    it(`equals the dense optimum: ${name}`, () => {
      const [a, b] = make();
      const total = earthMoversDistance(a, b, { pointReduction: 'sum' });
      expectClose(total, denseOptimum(a, b), { rtol: 1e-12, atol: 1e-12 });
    });
  }

  it('solves a local problem on the sparse path itself, without falling back', () => {
    const a = ellipsoid(300);
    const b = ellipsoid(300);
    const total = sparseExactEmd(a, b, 1e-4);
    expect(total).not.toBeNull();
    expectClose(total as number, denseOptimum(a, b), { rtol: 1e-12, atol: 1e-12 });
  });

  it('solves two shapes of different proportions on the sparse path (displaced candidates), without falling back', () => {
    const a = scaled(640, [1.2, 0.8, 1]);
    const b = scaled(640, [0.85, 1.2, 0.9]);
    const total = sparseExactEmd(a, b, 1e-4);
    expect(total).not.toBeNull();
    expectClose(total as number, denseOptimum(a, b), { rtol: 1e-12, atol: 1e-12 });
  });

  it('stays on the sparse path where the densities differ (nearest neighbours alone hold no perfect matching)', () => {
    // half of b sits in a tight cluster: a's points far from it have too few b neighbours
    const a = cloud(400, 3, () => random.uniform(-1, 1));
    const b = cloud(400, 3, (k) => (k < 600 ? 0.05 * random.normal() : random.uniform(-1, 1)));
    const total = sparseExactEmd(a, b, 1e-4);
    expect(total).not.toBeNull();
    expectClose(total as number, denseOptimum(a, b), { rtol: 1e-12, atol: 1e-12 });
  });

  it('pairs by rank along a space-filling curve: a permutation, in the candidate graph', () => {
    for (const d of [2, 3, 5]) {
      const a = cloud(300, d, () => random.normal());
      const b = cloud(300, d, (k) => (k % d === 0 ? 3 : 0) + random.int(4));
      const pairing = rankPairing(Float64Array.from(a.values), Float64Array.from(b.values), 300, d);
      expect([...pairing].sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, j) => j));
      const graph = candidateGraph(Float64Array.from(a.values), Float64Array.from(b.values), 300, d, 4);
      for (let i = 0; i < 300; i++) {
        expect(Array.from(graph.col.subarray(graph.start[i], graph.start[i + 1]))).toContain(pairing[i]);
      }
    }
  });

  it('the auction ends ε-optimal on its graph: every row holds an object within ε of its best', () => {
    const a = ellipsoid(300);
    const b = cloud(300, 3, () => 0.3 * random.normal());
    const graph = candidateGraph(Float64Array.from(a.values), Float64Array.from(b.values), 300, 3, 8);
    const auction = new SparseAuction(300);
    const epsilon = 1e-3;
    expect(auction.scale(graph, epsilon)).toBe(true);
    const u = auction.rowValues(graph, new Float64Array(300));
    const owners = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const j = auction.objectOf[i];
      owners.add(j);
      let held = Number.POSITIVE_INFINITY;
      for (let e = graph.start[i]; e < graph.start[i + 1]; e++) {
        if (graph.col[e] === j) held = Math.min(held, graph.cost[e] + auction.prices[j]);
      }
      expect(held).toBeLessThanOrEqual(u[i] + epsilon + 1e-12);
    }
    expect(owners.size).toBe(300);
  });

  it('reports a candidate graph without a perfect matching instead of looping', () => {
    // rows 0 and 1 may only take column 0
    const graph = {
      n: 2,
      start: Int32Array.from([0, 1, 2]),
      col: Int32Array.from([0, 0]),
      cost: Float64Array.from([1, 2]),
    };
    const state = { u: new Float64Array(2), v: new Float64Array(2), colForRow: Int32Array.from([-1, -1]) };
    expect(sparseShortestPaths(graph, state)).toBe(false);
  });
});

describe('nearestNeighbours3d (the candidates of the sparse EMD)', () => {
  function bruteForce(queries: Float64Array, points: Float64Array, n: number, k: number): number[][] {
    return Array.from({ length: n }, (_, q) => {
      const d2 = Array.from({ length: n }, (_, p) => {
        let s = 0;
        for (let c = 0; c < 3; c++) s += (queries[3 * q + c] - points[3 * p + c]) ** 2;
        return s;
      });
      return d2
        .map((s) => s)
        .sort((x, y) => x - y)
        .slice(0, k);
    });
  }
  /** nearestNeighbours3d's k neighbours of each query are at brute force's k smallest distances, in order. */
  function expectBruteForceNeighbours(
    queries: Float64Array,
    points: Float64Array,
    n: number,
    k: number,
  ): void {
    const out = new Int32Array(n * k);
    nearestNeighbours3d(queries, points, n, k, out);
    const expected = bruteForce(queries, points, n, k);
    for (let q = 0; q < n; q++) {
      const got = Array.from(out.subarray(q * k, (q + 1) * k), (p) => {
        let s = 0;
        for (let c = 0; c < 3; c++) s += (queries[3 * q + c] - points[3 * p + c]) ** 2;
        return s;
      });
      expect(got).toEqual(expected[q]);
    }
  }
  const cases: [string, (k: number) => number][] = [
    ['a Gaussian cloud', () => random.normal()],
    ['a flat set (z = 0) and repeated points', (k) => (k % 3 === 2 ? 0 : random.int(4))],
    ['queries far outside the points’ box', () => random.uniform(0, 1)],
  ];
  it('finds the same k nearest distances as brute force where the block around a query is not enough (uniform queries, a narrow Gaussian of points)', () => {
    const n = 800;
    const k = 16;
    const points = Float64Array.from({ length: n * 3 }, () => 0.1 * random.normal());
    const queries = Float64Array.from({ length: n * 3 }, () => random.uniform(-1, 1));
    expectBruteForceNeighbours(queries, points, n, k);
  });
  for (const [name, value] of cases) {
    it(`finds the same k nearest distances as brute force: ${name}`, () => {
      const n = 300;
      const k = 16;
      const points = Float64Array.from({ length: n * 3 }, (_, i) => value(i));
      const queries = Float64Array.from({ length: n * 3 }, (_, i) =>
        name.startsWith('queries') ? value(i) * 5 - 2 : value(i),
      );
      expectBruteForceNeighbours(queries, points, n, k);
    });
  }
});

describe('sparse exact EMD with a cutoff (stops once its dual objective exceeds it)', () => {
  const cases: [string, () => [HostSet, HostSet]][] = [
    [
      'two shapes of different proportions (3-D, 640 points)',
      () => [scaled(640, [1.2, 0.8, 1]), scaled(640, [0.9, 1, 1.1])],
    ],
    [
      'uniform cube against a narrow Gaussian (non-local: rows with violations at every check)',
      () => [cloud(300, 3, () => random.uniform(-0.5, 0.5)), cloud(300, 3, () => 0.25 * random.normal())],
    ],
    [
      'five dimensions (no grids: every pair scanned)',
      () => [cloud(260, 5, () => random.normal()), cloud(260, 5, () => 1 + random.normal())],
    ],
  ];
  for (const [name, make] of cases) {
    it(`returns the exact total or a true lower bound above the cutoff: ${name}`, () => {
      const [a, b] = make();
      const total = sparseExactEmd(a, b, 1e-4) as number;
      expect(total).not.toBeNull();
      expectClose(total, denseOptimum(a, b), { rtol: 1e-12, atol: 1e-12 });
      let stopped = 0;
      for (const ratio of [0.5, 0.9, 0.97, 0.999]) {
        const cutoff = ratio * total;
        const outcome = sparseExactEmdBelow(a, b, 1e-4, cutoff);
        if (outcome === null) throw new Error('the sparse path gave up');
        if (outcome.exact) {
          expect(outcome.total).toBe(total);
        } else {
          stopped++;
          expect(outcome.lowerBound).toBeGreaterThan(cutoff);
          expect(outcome.lowerBound).toBeLessThanOrEqual(total);
        }
      }
      expect(stopped).toBeGreaterThanOrEqual(2); // the cutoff does trigger, at 0.5 and 0.9 at least
      // a cutoff equal to the total (a tie in a nearest-neighbour search) or above it: exact
      for (const cutoff of [total, 1.01 * total, Number.POSITIVE_INFINITY]) {
        expect(sparseExactEmdBelow(a, b, 1e-4, cutoff)).toEqual({ exact: true, total });
      }
    });
  }

  it('a cutoff of −∞ stops at the first price check with a bound ≤ the total', () => {
    const a = ellipsoid(300);
    const b = scaled(300, [1.1, 1, 0.9]);
    const total = sparseExactEmd(a, b, 1e-4) as number;
    const outcome = sparseExactEmdBelow(a, b, 1e-4, Number.NEGATIVE_INFINITY);
    expect(outcome?.exact).toBe(false);
    if (outcome && !outcome.exact) {
      expect(outcome.lowerBound).toBeLessThanOrEqual(total);
      expect(outcome.lowerBound).toBeGreaterThan(0.5 * total); // the auction's duals, not a trivial bound
    }
  });
});
