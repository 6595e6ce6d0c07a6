import { expectClose, loadFixture } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { DataError, ShapeError } from './errors.js';
import { linearSumAssignment, solveAssignment } from './linear-sum-assignment.js';
import { Random } from './random.js';

interface HungarianCase {
  name: string;
  shape: [number, number];
  cost: number[][];
  total_cost: number;
  row_ind: number[];
  col_ind: number[];
  n_optimal_assignments?: number;
}

interface SetLossCase {
  name: string;
  B: number;
  x: number[][][];
  y: number[][][];
  loss_sum: number[];
}

const fixture = loadFixture<{ cases: HungarianCase[]; set_loss: SetLossCase[] }>(
  import.meta.dirname,
  'hungarian.json',
);

/** Every row and column used at most once, min(rows, cols) pairs, rows ascending, cost = Σ. */
function expectValidMatching(
  cost: number[][],
  result: { rowIndices: Int32Array; colIndices: Int32Array; cost: number },
): void {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  const pairs = Math.min(rows, cols);
  expect(result.rowIndices.length).toBe(pairs);
  expect(result.colIndices.length).toBe(pairs);
  const usedCols = new Set<number>();
  let total = 0;
  for (let k = 0; k < pairs; k++) {
    const r = result.rowIndices[k];
    const c = result.colIndices[k];
    if (k > 0) expect(r).toBeGreaterThan(result.rowIndices[k - 1]);
    expect(r).toBeGreaterThanOrEqual(0);
    expect(r).toBeLessThan(rows);
    expect(c).toBeGreaterThanOrEqual(0);
    expect(c).toBeLessThan(cols);
    expect(usedCols.has(c), `column ${c} used twice`).toBe(false);
    usedCols.add(c);
    total += cost[r][c];
  }
  expectClose(result.cost, total, { rtol: 1e-12, atol: 1e-12 });
}

/** Brute-force optimum over all injective maps of the smaller side, and how many reach it. */
function bruteForce(cost: number[][]): { best: number; count: number } {
  const rows = cost.length;
  const cols = cost[0].length;
  const transposed = rows > cols;
  const at = (i: number, j: number) => (transposed ? cost[j][i] : cost[i][j]);
  const small = Math.min(rows, cols);
  const large = Math.max(rows, cols);
  let best = Number.POSITIVE_INFINITY;
  let count = 0;
  const used = new Array<boolean>(large).fill(false);
  const visit = (i: number, sum: number) => {
    if (i === small) {
      const tolerance = 1e-9 * Math.max(1, Math.abs(sum));
      if (sum < best - tolerance) {
        best = sum;
        count = 1;
      } else if (Math.abs(sum - best) <= tolerance) count++;
      return;
    }
    for (let j = 0; j < large; j++) {
      if (used[j]) continue;
      used[j] = true;
      visit(i + 1, sum + at(i, j));
      used[j] = false;
    }
  };
  visit(0, 0);
  return { best, count };
}

function randomMatrix(rows: number, cols: number, value: () => number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, value));
}

describe('linearSumAssignment: scipy fixtures (hungarian.json)', () => {
  for (const c of fixture.cases) {
    it(`${c.name} ${c.shape.join('x')}`, () => {
      const result = linearSumAssignment(c.cost);
      expectValidMatching(c.cost, result);
      expectClose(result.cost, c.total_cost, { rtol: 1e-6, atol: 1e-9 });
      if (c.n_optimal_assignments !== undefined) {
        const { best, count } = bruteForce(c.cost);
        expect(count).toBe(c.n_optimal_assignments);
        expectClose(result.cost, best, { rtol: 1e-12, atol: 1e-12 });
      }
    });
  }

  it('set_loss: squared-Euclidean matching totals between point sets', () => {
    for (const c of fixture.set_loss) {
      for (let b = 0; b < c.B; b++) {
        const cost = c.x[b].map((p) => c.y[b].map((q) => p.reduce((s, v, k) => s + (v - q[k]) ** 2, 0)));
        expectClose(linearSumAssignment(cost).cost, c.loss_sum[b], { rtol: 1e-6, atol: 0 });
      }
    }
  });

  it('1e6-offset costs are solved exactly in float64 (differences below float32 resolution)', () => {
    const c = fixture.cases.find((k) => k.name === 'n17_large_offset_1e6');
    if (!c) throw new Error('fixture case missing');
    const result = linearSumAssignment(c.cost);
    // 17e6 total, optimum known to 1e-6 absolute: a float32 solver would be off by ~0.1.
    expect(Math.abs(result.cost - c.total_cost)).toBeLessThan(1e-6);
  });

  it('the flat row-major form gives the same total as number[][]', () => {
    for (const c of fixture.cases) {
      const flat = Float64Array.from(c.cost.flat());
      const result = linearSumAssignment(flat, { rows: c.shape[0], cols: c.shape[1] });
      expectValidMatching(c.cost, result);
      expectClose(result.cost, c.total_cost, { rtol: 1e-6, atol: 1e-9 });
    }
  });

  it('accepts rows given as typed arrays', () => {
    for (const c of fixture.cases) {
      const result = linearSumAssignment(c.cost.map((row) => Float64Array.from(row)));
      expectValidMatching(c.cost, result);
      expectClose(result.cost, c.total_cost, { rtol: 1e-6, atol: 1e-9 });
    }
  });

  it('returns the identity on a constant matrix and scipy’s assignment on a random one', () => {
    const constant = fixture.cases.find((k) => k.name === 'n5_all_equal');
    const random = fixture.cases.find((k) => k.name === 'n17');
    if (!constant || !random) throw new Error('fixture case missing');
    expect(Array.from(linearSumAssignment(constant.cost).colIndices)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(linearSumAssignment(random.cost).colIndices)).toEqual(random.col_ind);
  });
});

describe('linearSumAssignment: properties on random matrices', () => {
  const random = new Random(11);
  const kinds: [string, () => number][] = [
    ['uniform', () => random.uniform(-1, 1)],
    ['ties (integers 0..2)', () => random.int(3)],
  ];

  it('equals the brute-force optimum for every shape up to 7x7, square and rectangular', () => {
    for (const [, value] of kinds) {
      for (let rows = 1; rows <= 7; rows++) {
        for (let cols = 1; cols <= 7; cols++) {
          const cost = randomMatrix(rows, cols, value);
          const result = linearSumAssignment(cost);
          expectValidMatching(cost, result);
          expectClose(result.cost, bruteForce(cost).best, { rtol: 1e-12, atol: 1e-12 });
        }
      }
    }
  });

  it('maximize equals minus the minimisation of −cost', () => {
    for (const [rows, cols] of [
      [6, 6],
      [4, 7],
      [7, 3],
      [30, 30],
    ]) {
      const cost = randomMatrix(rows, cols, () => random.uniform(-5, 5));
      const max = linearSumAssignment(cost, { maximize: true });
      const minOfNegated = linearSumAssignment(cost.map((row) => row.map((x) => -x)));
      expectValidMatching(cost, max);
      expectClose(max.cost, -minOfNegated.cost, { rtol: 1e-12, atol: 1e-12 });
      if (rows <= 7 && cols <= 7) {
        const { best } = bruteForce(cost.map((row) => row.map((x) => -x)));
        expectClose(max.cost, -best, { rtol: 1e-12, atol: 1e-12 });
      }
    }
  });

  it('permuting rows and columns leaves the optimum unchanged', () => {
    for (const [rows, cols] of [
      [40, 40],
      [25, 40],
      [40, 25],
    ]) {
      const cost = randomMatrix(rows, cols, () => random.uniform(0, 1));
      const rowOrder = random.shuffle(Array.from({ length: rows }, (_, i) => i));
      const colOrder = random.shuffle(Array.from({ length: cols }, (_, j) => j));
      const permuted = rowOrder.map((r) => colOrder.map((c) => cost[r][c]));
      expectClose(linearSumAssignment(permuted).cost, linearSumAssignment(cost).cost, {
        rtol: 1e-12,
        atol: 1e-12,
      });
    }
  });

  it('transposing leaves the optimum unchanged and swaps the roles of the indices', () => {
    const cost = randomMatrix(12, 20, () => random.uniform(0, 1));
    const transposedCost = cost[0].map((_, c) => cost.map((row) => row[c]));
    const direct = linearSumAssignment(cost);
    const transposed = linearSumAssignment(transposedCost);
    expectValidMatching(transposedCost, transposed);
    expectClose(transposed.cost, direct.cost, { rtol: 1e-12, atol: 1e-12 });
  });
});

describe('linearSumAssignment: JV initialisation (from 128 rows)', () => {
  const random = new Random(23);
  const inf = Number.POSITIVE_INFINITY;
  /** Plain shortest augmenting paths from zero duals (valid for costs ≥ 0): an independent optimum. */
  function plainOptimum(flat: Float64Array, rows: number, cols: number): number {
    const start = {
      u: new Float64Array(rows),
      v: new Float64Array(cols),
      colForRow: new Int32Array(rows).fill(-1),
    };
    const colForRow = solveAssignment(flat, rows, cols, start);
    let total = 0;
    for (let r = 0; r < rows; r++) total += flat[r * cols + colForRow[r]];
    return total;
  }
  const cases: [string, number, number, () => number][] = [
    ['uniform 150x150', 150, 150, () => random.next()],
    ['ties 0..2, 200x200', 200, 200, () => random.int(3)],
    ['10 % forbidden, 160x160', 160, 160, () => (random.next() < 0.1 ? inf : random.next())],
    ['rectangular 130x300', 130, 300, () => random.next()],
    ['rectangular ties 140x260', 140, 260, () => random.int(2)],
    ['tall 300x130', 300, 130, () => random.next()],
  ];
  for (const [name, rows, cols, value] of cases) {
    it(`finds the optimum: ${name}`, () => {
      const flat = new Float64Array(rows * cols);
      for (let k = 0; k < flat.length; k++) flat[k] = value();
      const result = linearSumAssignment(flat, { rows, cols });
      expectValidMatching(
        Array.from({ length: rows }, (_, r) => Array.from(flat.subarray(r * cols, (r + 1) * cols))),
        result,
      );
      const transposed = rows > cols;
      const t = transposed ? new Float64Array(rows * cols) : flat;
      if (transposed)
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = flat[r * cols + c];
      const expected = transposed ? plainOptimum(t, cols, rows) : plainOptimum(flat, rows, cols);
      expect(Number.isFinite(result.cost)).toBe(true);
      expectClose(result.cost, expected, { rtol: 1e-12, atol: 1e-9 });
    });
  }

  it('maximises with the JV initialisation too', () => {
    const n = 180;
    const flat = new Float64Array(n * n);
    for (let k = 0; k < flat.length; k++) flat[k] = random.uniform(-3, 3);
    const max = linearSumAssignment(flat, { rows: n, cols: n, maximize: true });
    const shifted = flat.map((x) => 3 - x); // max Σc = 3n − min Σ(3 − c)
    expectClose(max.cost, 3 * n - plainOptimum(shifted, n, n), { rtol: 1e-12, atol: 1e-9 });
  });

  it('does not modify a float64 input it reads without copying', () => {
    const n = 130;
    const flat = new Float64Array(n * n);
    for (let k = 0; k < flat.length; k++) flat[k] = random.next();
    const before = flat.slice();
    linearSumAssignment(flat, { rows: n, cols: n });
    expect(flat).toEqual(before);
  });
});

describe('linearSumAssignment: infinite costs, empty matrices and bad input', () => {
  const inf = Number.POSITIVE_INFINITY;

  it('treats +Infinity as a forbidden pair', () => {
    const cost = [
      [1, inf, 5],
      [inf, 2, 1],
      [0, inf, inf],
    ];
    const result = linearSumAssignment(cost);
    expect(Array.from(result.colIndices)).toEqual([2, 1, 0]);
    expect(result.cost).toBe(5 + 2 + 0);
  });

  it('throws DataError on an infeasible matrix, NaN or -Infinity', () => {
    expect(() =>
      linearSumAssignment([
        [inf, inf],
        [1, 2],
      ]),
    ).toThrow(DataError);
    expect(() =>
      linearSumAssignment([
        [1, inf, inf],
        [2, inf, inf],
      ]),
    ).toThrow(/infeasible/);
    expect(() => linearSumAssignment([[1, Number.NaN]])).toThrow(/cost\[0\]\[1\] is NaN/);
    expect(() => linearSumAssignment([[1], [Number.NEGATIVE_INFINITY]])).toThrow(DataError);
    // with maximize the roles of the infinities swap
    expect(linearSumAssignment([[Number.NEGATIVE_INFINITY, 1]], { maximize: true }).cost).toBe(1);
    expect(() => linearSumAssignment([[inf, 1]], { maximize: true })).toThrow(DataError);
  });

  it('returns an empty assignment of cost 0 for an empty matrix', () => {
    for (const [cost, options] of [
      [[], {}],
      [[[]], {}],
      [new Float64Array(0), { rows: 0, cols: 4 }],
      [new Float64Array(0), { rows: 3, cols: 0 }],
    ] as const) {
      const result = linearSumAssignment(cost, options);
      expect(result.rowIndices.length).toBe(0);
      expect(result.colIndices.length).toBe(0);
      expect(result.cost).toBe(0);
    }
  });

  it('throws ShapeError naming the argument and the expected shape', () => {
    expect(() => linearSumAssignment([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => linearSumAssignment([[1, 2], [3]])).toThrow(/shape \[2,2\].*cost\[1\] has length 1/);
    expect(() => linearSumAssignment([1, 2, 3, 4])).toThrow(/options.rows and options.cols/);
    expect(() => linearSumAssignment([1, 2, 3, 4], { rows: 2 })).toThrow(ShapeError);
    expect(() => linearSumAssignment([1, 2, 3], { rows: 2, cols: 2 })).toThrow(
      /rows\*cols = 2\*2 = 4, received length 3/,
    );
    expect(() => linearSumAssignment([1, 2, 3, 4], { rows: 1.5, cols: 2 })).toThrow(
      /options.rows must be a non-negative integer/,
    );
    expect(() => linearSumAssignment([[1, 2]], { rows: 2 })).toThrow(/options.rows is 2 but cost has 1 rows/);
    expect(() => linearSumAssignment(null as unknown as number[])).toThrow(ShapeError);
    expect(() => linearSumAssignment([['a' as unknown as number]])).toThrow(DataError);
  });
});
