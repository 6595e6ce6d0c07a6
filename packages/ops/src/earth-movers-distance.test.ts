import { expectClose, loadFixture } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import {
  AUCTION_RELATIVE_EPSILON,
  earthMoversDistance,
  exactEmdBelowCutoff,
  SINKHORN_RELATIVE_EPSILON,
  SINKHORN_TOLERANCE,
} from './earth-movers-distance.js';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { linearSumAssignment } from './linear-sum-assignment.js';
import { Random } from './random.js';
import type { HostSet } from './set-batch.js';

interface EmdCase {
  name: string;
  N: number;
  D: number;
  x: number[][];
  y: number[][];
  emd_sum: number;
  emd_mean: number;
  assignment_y_index_for_each_x: number[];
  pointflow_approx_emd_sum?: number;
}

const fixture = loadFixture<{ cases: EmdCase[] }>(import.meta.dirname, 'emd.json');

function hostSet(points: number[][], type: 'float32' | 'float64' = 'float64'): HostSet {
  const flat = points.flat();
  return {
    values: type === 'float32' ? Float32Array.from(flat) : Float64Array.from(flat),
    n: points.length,
    d: points[0]?.length ?? 1,
  };
}

function randomCloud(random: Random, n: number, d: number, value = () => random.uniform(-1, 1)): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, value));
}

function distance(p: number[], q: number[]): number {
  return Math.sqrt(p.reduce((s, x, k) => s + (x - q[k]) ** 2, 0));
}

/** The exact EMD sum through the public assignment solver, on a plain number[][] cost. */
function emdByAssignment(x: number[][], y: number[][]): number {
  return linearSumAssignment(x.map((p) => y.map((q) => distance(p, q)))).cost;
}

function maxDistance(x: number[][], y: number[][]): number {
  return Math.max(...x.flatMap((p) => y.map((q) => distance(p, q))));
}

const METHODS = ['exact', 'auction', 'sinkhorn'] as const;

describe('earthMoversDistance: scipy fixtures (emd.json)', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: exact and auction match scipy; sinkhorn within its documented bias`, () => {
      const a = hostSet(c.x);
      const b = hostSet(c.y);
      expectClose(earthMoversDistance(a, b), c.emd_mean, { rtol: 1e-4, atol: 0 });
      expectClose(earthMoversDistance(a, b, { pointReduction: 'sum' }), c.emd_sum, { rtol: 1e-4, atol: 0 });
      // the fixture assignment has this total too (Σ of the stored matching)
      const stored = c.x.reduce((s, p, i) => s + distance(p, c.y[c.assignment_y_index_for_each_x[i]]), 0);
      expectClose(stored, c.emd_sum, { rtol: 1e-7, atol: 0 });
      const auction = earthMoversDistance(a, b, { method: 'auction', pointReduction: 'sum' });
      expectClose(auction, c.emd_sum, { rtol: 1e-4, atol: 0 });
      const sinkhorn = earthMoversDistance(a, b, { method: 'sinkhorn' });
      expect(sinkhorn).toBeGreaterThanOrEqual(c.emd_mean * (1 - 1e-7));
      expectClose(sinkhorn, c.emd_mean, { rtol: 6e-3, atol: 0 });
      if (c.pointflow_approx_emd_sum !== undefined) {
        // PointFlow's approxmatch is a feasible plan, so an upper bound of the exact value
        expect(c.pointflow_approx_emd_sum).toBeGreaterThan(
          earthMoversDistance(a, b, { pointReduction: 'sum' }),
        );
      }
    });
  }

  it('accepts Float32Array sets (distances still accumulate in float64)', () => {
    const c = fixture.cases[0];
    expectClose(earthMoversDistance(hostSet(c.x, 'float32'), hostSet(c.y, 'float32')), c.emd_mean, {
      rtol: 1e-5,
      atol: 0,
    });
  });
});

describe('earthMoversDistance: properties', () => {
  const random = new Random(7);

  it('exact equals the assignment optimum on random, tied and degenerate sets', () => {
    const grid = () => random.int(3); // integer coordinates: many equal distances
    const cases: [number[][], number[][]][] = [
      [randomCloud(random, 40, 3), randomCloud(random, 40, 3)],
      [randomCloud(random, 30, 2, grid), randomCloud(random, 30, 2, grid)],
      [randomCloud(random, 25, 1), randomCloud(random, 25, 1)],
      [Array.from({ length: 12 }, () => [0.5, 0.5]), randomCloud(random, 12, 2)],
      // two clusters of nearly coincident points: ties broken only at the 1e-9 level
      [
        Array.from({ length: 40 }, (_, i) => [i % 2, i % 2, 0].map((v) => v + 1e-9 * random.next())),
        randomCloud(random, 40, 3),
      ],
    ];
    for (const [x, y] of cases) {
      const expected = emdByAssignment(x, y);
      expectClose(earthMoversDistance(hostSet(x), hostSet(y), { pointReduction: 'sum' }), expected, {
        rtol: 1e-12,
        atol: 1e-12,
      });
    }
  });

  it('for a collapsed set equals Σ_j ‖p − b_j‖ whatever the matching, with every method', () => {
    const n = 64;
    const p = [0.3, -0.2, 0.1];
    const y = randomCloud(random, n, 3);
    const expected = y.reduce((s, q) => s + distance(p, q), 0);
    for (const method of METHODS) {
      const value = earthMoversDistance(hostSet(y.map(() => p)), hostSet(y), {
        method,
        pointReduction: 'sum',
      });
      expectClose(value, expected, { rtol: 1e-9, atol: 0 });
    }
  });

  it('in 1-D equals the sorted matching (the Monge solution)', () => {
    const x = randomCloud(random, 50, 1);
    const y = randomCloud(random, 50, 1);
    const xs = x.map((p) => p[0]).sort((p, q) => p - q);
    const ys = y.map((p) => p[0]).sort((p, q) => p - q);
    const expected = xs.reduce((s, v, i) => s + Math.abs(v - ys[i]), 0) / 50;
    expectClose(earthMoversDistance(hostSet(x), hostSet(y)), expected, { rtol: 1e-12, atol: 1e-12 });
  });

  it('is symmetric, permutation invariant in each argument, and zero for identical sets', () => {
    const x = randomCloud(random, 33, 3);
    const y = randomCloud(random, 33, 3);
    for (const method of METHODS) {
      const value = earthMoversDistance(hostSet(x), hostSet(y), { method });
      const tolerance = { rtol: method === 'sinkhorn' ? 1e-3 : 1e-9, atol: 1e-12 };
      expectClose(earthMoversDistance(hostSet(y), hostSet(x), { method }), value, tolerance);
      expectClose(
        earthMoversDistance(hostSet(random.shuffle([...x])), hostSet(y), { method }),
        value,
        tolerance,
      );
      expectClose(
        earthMoversDistance(hostSet(x), hostSet(random.shuffle([...y])), { method }),
        value,
        tolerance,
      );
      expect(earthMoversDistance(hostSet(x), hostSet(random.shuffle([...x])), { method })).toBeLessThan(
        method === 'sinkhorn' ? 1e-2 * value : 1e-12,
      );
    }
    expect(earthMoversDistance(hostSet([[1, 2]]), hostSet([[1, 2]]))).toBe(0);
    for (const method of METHODS) {
      expect(earthMoversDistance(hostSet([[0, 0]]), hostSet([[3, 4]]), { method })).toBe(5);
    }
  });

  it('auction is within its documented bound n·ε of exact (and never below it)', () => {
    for (const n of [2, 17, 90]) {
      const x = randomCloud(random, n, 3);
      const y = randomCloud(random, n, 3, () => random.normal() * 0.3);
      const exact = earthMoversDistance(hostSet(x), hostSet(y), { pointReduction: 'sum' });
      const auction = earthMoversDistance(hostSet(x), hostSet(y), {
        method: 'auction',
        pointReduction: 'sum',
      });
      const bound = n * AUCTION_RELATIVE_EPSILON * maxDistance(x, y);
      expect(auction).toBeGreaterThanOrEqual(exact - 1e-9 * exact);
      expect(auction - exact).toBeLessThanOrEqual(bound);
    }
  });

  it('sinkhorn is an upper bound within ε·log n + 2·tolerance·max C of exact (mean)', () => {
    for (const n of [5, 40, 120]) {
      const x = randomCloud(random, n, 2);
      const y = randomCloud(random, n, 2, () => random.normal() * 0.5);
      const exact = earthMoversDistance(hostSet(x), hostSet(y));
      const sinkhorn = earthMoversDistance(hostSet(x), hostSet(y), { method: 'sinkhorn' });
      const maxCost = maxDistance(x, y);
      const epsilon = SINKHORN_RELATIVE_EPSILON * maxCost;
      expect(sinkhorn).toBeGreaterThanOrEqual(exact * (1 - 1e-12));
      expect(sinkhorn - exact).toBeLessThanOrEqual(epsilon * Math.log(n) + 2 * SINKHORN_TOLERANCE * maxCost);
    }
  });

  it('mean is sum / n for every method', () => {
    const x = randomCloud(random, 20, 3);
    const y = randomCloud(random, 20, 3);
    for (const method of METHODS) {
      const sum = earthMoversDistance(hostSet(x), hostSet(y), { method, pointReduction: 'sum' });
      expectClose(earthMoversDistance(hostSet(x), hostSet(y), { method }), sum / 20, {
        rtol: 1e-12,
        atol: 0,
      });
    }
  });
});

describe('earthMoversDistance: bad input', () => {
  const a = hostSet([
    [0, 0, 0],
    [1, 1, 1],
  ]);

  it('throws ShapeError on mismatched sizes or dimensions, or a wrong values length', () => {
    const three = hostSet([
      [0, 0, 0],
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(() => earthMoversDistance(a, three)).toThrow(ShapeError);
    expect(() => earthMoversDistance(a, three)).toThrow(/n = 2, received b.n = 3/);
    const twoD = hostSet([
      [0, 0],
      [1, 1],
    ]);
    expect(() => earthMoversDistance(a, twoD)).toThrow(/d = 3, received b.d = 2/);
    expect(() => earthMoversDistance(a, { values: new Float64Array(5), n: 2, d: 3 })).toThrow(
      /earthMoversDistance: b: expected a HostSet with values of length n·d = 2·3, got values.length=5/,
    );
    expect(() => earthMoversDistance(a, { values: [0, 0] as unknown as Float64Array, n: 1, d: 2 })).toThrow(
      ShapeError,
    );
    expect(() => earthMoversDistance({ values: new Float64Array(3), n: 1.5, d: 2 }, a)).toThrow(
      /earthMoversDistance: a: expected a HostSet with integer n ≥ 0 and d ≥ 1, got n = 1.5/,
    );
  });

  it('throws DataError on NaN, Infinity, empty sets or overflowing distances', () => {
    const nan = hostSet([
      [0, 0, 0],
      [1, Number.NaN, 1],
    ]);
    expect(() => earthMoversDistance(a, nan)).toThrow(DataError);
    expect(() => earthMoversDistance(a, nan)).toThrow(
      /earthMoversDistance: b: expected finite values, got NaN at point 1, coordinate 1/,
    );
    expect(() =>
      earthMoversDistance(
        hostSet([
          [Number.POSITIVE_INFINITY, 0, 0],
          [0, 0, 0],
        ]),
        a,
      ),
    ).toThrow(DataError);
    const empty = { values: new Float64Array(0), n: 0, d: 3 };
    expect(() => earthMoversDistance(empty, empty)).toThrow(
      /earthMoversDistance: a: expected at least one point, got n = 0/,
    );
    expect(() => earthMoversDistance(hostSet([[1e300]]), hostSet([[-1e300]]))).toThrow(/overflows/);
  });

  it('throws ConfigError on an unknown method or pointReduction', () => {
    expect(() => earthMoversDistance(a, a, { method: 'approx' as 'exact' })).toThrow(ConfigError);
    expect(() => earthMoversDistance(a, a, { pointReduction: 'max' as 'sum' })).toThrow(
      /pointReduction: expected 'mean' \| 'sum', got "max"/,
    );
  });
});

describe('exactEmdBelowCutoff', () => {
  const random = new Random(77);
  const surface = (n: number, axes: number[]): HostSet => {
    const values = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const p = [random.normal(), random.normal(), random.normal()];
      const r = Math.hypot(...p);
      for (let c = 0; c < 3; c++) values[3 * i + c] = (axes[c] * p[c]) / r;
    }
    return { values, n, d: 3 };
  };

  it('is the exact EMD at or below the cutoff (ties included), a lower bound above it otherwise', () => {
    const a = surface(300, [1, 0.5, 0.3]);
    const b = surface(300, [0.8, 0.6, 0.3]);
    for (const pointReduction of ['mean', 'sum'] as const) {
      const emd = earthMoversDistance(a, b, { pointReduction });
      expect(exactEmdBelowCutoff(a, b, emd, { pointReduction })).toEqual({ value: emd, exact: true });
      expect(exactEmdBelowCutoff(a, b, Number.POSITIVE_INFINITY, { pointReduction })).toEqual({
        value: emd,
        exact: true,
      });
      const cut = exactEmdBelowCutoff(a, b, 0.8 * emd, { pointReduction });
      expect(cut.exact).toBe(false);
      expect(cut.value).toBeGreaterThan(0.8 * emd);
      expect(cut.value).toBeLessThanOrEqual(emd);
    }
  });

  it('is always exact below 256 points (the dense solver) and for identical sets', () => {
    const a = surface(100, [1, 0.5, 0.3]);
    const b = surface(100, [0.8, 0.6, 0.3]);
    expect(exactEmdBelowCutoff(a, b, 0)).toEqual({ value: earthMoversDistance(a, b), exact: true });
    const c = surface(300, [1, 1, 1]);
    expect(exactEmdBelowCutoff(c, c, 0)).toEqual({ value: 0, exact: true }); // a tie at 0
    const negative = exactEmdBelowCutoff(c, c, -1); // any bound ≥ 0 exceeds it
    expect(negative.value).toBe(0);
  });

  it('checks its arguments: ConfigError for a NaN cutoff or bad options, ShapeError / DataError for the sets', () => {
    const a = surface(8, [1, 1, 1]);
    expect(() => exactEmdBelowCutoff(a, a, Number.NaN)).toThrow(ConfigError);
    expect(() => exactEmdBelowCutoff(a, a, '1' as unknown as number)).toThrow(/cutoff/);
    expect(() => exactEmdBelowCutoff(a, a, 1, { pointReduction: 'max' as 'sum' })).toThrow(ConfigError);
    expect(() => exactEmdBelowCutoff(a, surface(9, [1, 1, 1]), 1)).toThrow(ShapeError);
    expect(() => exactEmdBelowCutoff(a, { ...a, values: a.values.map(() => Number.NaN) }, 1)).toThrow(
      DataError,
    );
  });
});
