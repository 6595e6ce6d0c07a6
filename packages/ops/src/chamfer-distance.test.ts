import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  loadFixture,
  randomSet,
  testRandom,
  valuesOf,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { chamferDistance } from './chamfer-distance.js';
import { chamferDistanceHost } from './chamfer-host.js';
import { ConfigError, DataError, ShapeError } from './errors.js';
import type { PairCost } from './pair-cost.js';

const fixture = loadFixture(import.meta.dirname, 'chamfer.json');

// REFERENCES.md §13: X = {(0,0),(1,0),(0,1)}, Y = {(0,.5),(1,1),(2,0)}.
const toyX = [
  [0, 0],
  [1, 0],
  [0, 1],
];
const toyY = [
  [0, 0.5],
  [1, 1],
  [2, 0],
];

describeBackends('chamferDistance', () => {
  for (const c of fixture.cases) {
    it(`matches the fixture ${c.name} (sum and mean of mins, per set and batch mean)`, () => {
      const x = tf.tensor3d(c.x);
      const y = tf.tensor3d(c.y);
      const a = c.masked ? { x, mask: tf.tensor2d(c.mask_x.map((r: boolean[]) => r.map(Number))) } : x;
      const b = c.masked ? { x: y, mask: tf.tensor2d(c.mask_y.map((r: boolean[]) => r.map(Number))) } : y;
      expectClose(
        valuesOf(chamferDistance(a, b, { pointReduction: 'sum', reduction: 'none' })),
        c.sum_of_mins,
        {
          rtol: 2e-5,
        },
      );
      expectClose(valuesOf(chamferDistance(a, b, { reduction: 'none' })), c.mean_of_mins, { rtol: 2e-5 });
      expectClose(valuesOf(chamferDistance(a, b)), c.batch_mean_mean_of_mins, { rtol: 2e-5 });
      expectClose(valuesOf(chamferDistance(a, b, { pointReduction: 'sum' })), c.batch_mean_sum_of_mins, {
        rtol: 2e-5,
      });
      tf.dispose([x, y, (a as any).mask, (b as any).mask].filter(Boolean));
    });
  }

  for (const c of fixture.cases.filter((k: any) => k.grad_sum_of_mins_total)) {
    it(`gradients match the fixture ${c.name} (both conventions)`, () => {
      const x = tf.tensor3d(c.x);
      const y = tf.tensor3d(c.y);
      for (const [pointReduction, key] of [
        ['sum', 'grad_sum_of_mins_total'],
        ['mean', 'grad_mean_of_mins_total'],
      ] as const) {
        const [dx, dy] = tf.grads(
          (p: tf.Tensor, q: tf.Tensor) =>
            chamferDistance(p as tf.Tensor3D, q as tf.Tensor3D, {
              pointReduction,
              reduction: 'sum',
            }) as tf.Scalar,
        )([x, y]);
        expectClose(valuesOf(dx), c[key].dx.flat(2), { rtol: 1e-4, atol: 1e-6 });
        expectClose(valuesOf(dy), c[key].dy.flat(2), { rtol: 1e-4, atol: 1e-6 });
      }
      tf.dispose([x, y]);
    });
  }

  it('reproduces the toy values of REFERENCES.md §13 for every preset', () => {
    const x = tf.tensor3d([toyX]);
    const y = tf.tensor3d([toyY]);
    expectClose(valuesOf(chamferDistance(x, y, { pointReduction: 'sum' })), 3.75, { rtol: 1e-6 }); // C1 SetVAE
    expectClose(valuesOf(chamferDistance(x, y)), 1.25, { rtol: 1e-6 }); // C2 PointFlow
    expectClose(valuesOf(chamferDistance(x, y, { pairCost: 'euclidean' })), 1.5, { rtol: 1e-6 }); // C3 ×2 Top-n
    // C4 DSPN: mean_i(min_row_i + min_col_i) = mean of rows + mean of columns (equal sizes)
    expectClose(valuesOf(chamferDistance(x, y, { pairCost: 'huber' })), 0.3125, { rtol: 1e-6 });
    tf.dispose([x, y]);
  });

  it('is symmetric and invariant to permutations of either set', () => {
    const a = randomSet(1, [2, 9, 3]);
    const b = randomSet(2, [2, 6, 3]);
    for (const pairCost of ['sqeuclidean', 'euclidean', 'huber'] as PairCost[]) {
      const ref = valuesOf(chamferDistance(a, b, { pairCost, reduction: 'none' }));
      expectClose(valuesOf(chamferDistance(b, a, { pairCost, reduction: 'none' })), ref, { rtol: 1e-6 });
      const pa = tf.gather(a, [3, 8, 0, 1, 7, 2, 5, 4, 6], 1) as tf.Tensor3D;
      const pb = tf.gather(b, [5, 2, 4, 0, 3, 1], 1) as tf.Tensor3D;
      expectClose(valuesOf(chamferDistance(pa, pb, { pairCost, reduction: 'none' })), ref, { rtol: 1e-6 });
      tf.dispose([pa, pb]);
    }
    tf.dispose([a, b]);
  });

  it('padding never changes a result: a padded batch equals each set alone', () => {
    const sizesA = [7, 3, 1];
    const sizesB = [2, 6, 4];
    const a = randomSet(3, [3, 7, 2]);
    const b = randomSet(4, [3, 6, 2]);
    // junk in the padding, scattered (non-prefix) masks
    const maskA = tf.tensor2d([
      [1, 1, 1, 1, 1, 1, 1],
      [0, 1, 0, 1, 0, 1, 0],
      [0, 0, 0, 0, 0, 0, 1],
    ]);
    const maskB = tf.tensor2d([
      [1, 0, 0, 0, 0, 1],
      [1, 1, 1, 1, 1, 1],
      [1, 0, 1, 1, 0, 1],
    ]);
    const junk = (x: tf.Tensor3D, m: tf.Tensor2D, v: number) =>
      tf.where(tf.cast(tf.expandDims(m, 2), 'bool'), x, tf.fill(x.shape, v)) as tf.Tensor3D;
    const ja = junk(a, maskA, 1e3);
    const jb = junk(b, maskB, -77);
    const rowsA = tf.unstack(maskA).map((r) => valuesOf(r));
    const rowsB = tf.unstack(maskB).map((r) => valuesOf(r));
    for (const pairCost of ['sqeuclidean', 'euclidean', 'huber'] as PairCost[]) {
      for (const pointReduction of ['mean', 'sum'] as const) {
        const batched = valuesOf(
          chamferDistance(
            { x: ja, mask: maskA },
            { x: jb, mask: maskB },
            { pairCost, pointReduction, reduction: 'none' },
          ),
        );
        const alone = [0, 1, 2].map((s) => {
          const keepA = rowsA[s].flatMap((v, i) => (v ? [i] : []));
          const keepB = rowsB[s].flatMap((v, i) => (v ? [i] : []));
          expect(keepA.length).toBe(sizesA[s]);
          expect(keepB.length).toBe(sizesB[s]);
          const sa = tf.gather(tf.slice(a, [s, 0, 0], [1, -1, -1]), keepA, 1) as tf.Tensor3D;
          const sb = tf.gather(tf.slice(b, [s, 0, 0], [1, -1, -1]), keepB, 1) as tf.Tensor3D;
          const v = valuesOf(chamferDistance(sa, sb, { pairCost, pointReduction }))[0];
          tf.dispose([sa, sb]);
          return v;
        });
        expectClose(batched, alone, { rtol: 1e-6 });
      }
    }
    // and the padding gets no gradient
    const [ga, gb] = tf.grads(
      (p: tf.Tensor, q: tf.Tensor) =>
        chamferDistance(
          { x: p as tf.Tensor3D, mask: maskA },
          { x: q as tf.Tensor3D, mask: maskB },
          { pairCost: 'euclidean' },
        ) as tf.Scalar,
    )([ja, jb]);
    const padA = valuesOf(tf.mul(tf.abs(ga), tf.expandDims(tf.sub(1, maskA), 2)));
    const padB = valuesOf(tf.mul(tf.abs(gb), tf.expandDims(tf.sub(1, maskB), 2)));
    expect(Math.max(...padA, ...padB)).toBe(0);
    tf.dispose([a, b, maskA, maskB, ja, jb, ga, gb]);
  });

  it('large scattered-padded sets (the sweep path) equal chamferDistanceHost on the valid points', () => {
    const [b, n, m, d] = [2, 300, 260, 3];
    const a = randomSet(11, [b, n, d]);
    const c = randomSet(12, [b, m, d]);
    const rand = testRandom(13);
    const maskA = Array.from({ length: b }, () => Array.from({ length: n }, () => (rand() < 0.7 ? 1 : 0)));
    const maskC = Array.from({ length: b }, () => Array.from({ length: m }, () => (rand() < 0.8 ? 1 : 0)));
    const ma = tf.tensor2d(maskA);
    const mc = tf.tensor2d(maskC);
    const got = valuesOf(chamferDistance({ x: a, mask: ma }, { x: c, mask: mc }, { reduction: 'none' }));
    const va = a.dataSync() as Float32Array;
    const vc = c.dataSync() as Float32Array;
    const valid = (v: Float32Array, mask: number[][], s: number, size: number) =>
      Float32Array.from(
        mask[s].flatMap((keep, i) =>
          keep ? Array.from(v.subarray((s * size + i) * d, (s * size + i + 1) * d)) : [],
        ),
      );
    const expected = [0, 1].map((s) => {
      const pa = valid(va, maskA, s, n);
      const pc = valid(vc, maskC, s, m);
      return chamferDistanceHost({ values: pa, n: pa.length / d, d }, { values: pc, n: pc.length / d, d });
    });
    expectClose(got, expected, { rtol: 1e-5 });
    tf.dispose([a, c, ma, mc]);
  });

  for (const pairCost of ['sqeuclidean', 'euclidean', 'huber'] as PairCost[]) {
    it(`gradients equal central finite differences ('${pairCost}', masked)`, () => {
      // spread-out points (no near-ties), so a small step never changes a neighbour
      const a = tf.tensor3d([
        [
          [0, 0, 0],
          [1.5, 0.2, -0.3],
          [0.1, 2.2, 0.4],
          [9, 9, 9],
        ],
      ]);
      const b = tf.tensor3d([
        [
          [0.3, -0.2, 0.1],
          [1.2, 0.5, 0.2],
          [-0.4, 1.9, 1.3],
          [2.9, 3.1, -0.5],
          [1.7, 2.6, 0.2],
        ],
      ]);
      const maskA = tf.tensor2d([[1, 1, 1, 0]]);
      const loss = (p: tf.Tensor, q: tf.Tensor) =>
        chamferDistance({ x: p as tf.Tensor3D, mask: maskA }, q as tf.Tensor3D, { pairCost }) as tf.Scalar;
      const [ga, gb] = tf.grads(loss)([a, b]);
      const fa = finiteDifferenceGradient((p) => loss(p, b), a, 1e-2);
      const fb = finiteDifferenceGradient((q) => loss(a, q), b, 1e-2);
      expectClose(valuesOf(ga), fa, { rtol: 2e-3, atol: 2e-4 });
      expectClose(valuesOf(gb), fb, { rtol: 2e-3, atol: 2e-4 });
      tf.dispose([a, b, maskA]);
    });
  }

  it("'euclidean' has a finite (zero) gradient where points coincide", () => {
    const a = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
      ],
    ]);
    const g = tf.grad(
      (p: tf.Tensor) => chamferDistance(p as tf.Tensor3D, a, { pairCost: 'euclidean' }) as tf.Scalar,
    )(tf.clone(a));
    expect(valuesOf(g)).toEqual([0, 0, 0, 0]);
    a.dispose();
  });

  it('leaks no tensors, also under a gradient and when it throws', async () => {
    const a = randomSet(5, [2, 5, 3]);
    const b = randomSet(6, [2, 4, 3]);
    const mask = tf.tensor2d([
      [1, 1, 0, 1, 0],
      [1, 0, 0, 0, 0],
    ]);
    await expectNoLeak(() => chamferDistance({ x: a, mask }, b).dispose());
    await expectNoLeak(() => chamferDistance(a, b, { pairCost: 'huber', reduction: 'none' }).dispose());
    await expectNoLeak(() =>
      tf.dispose(tf.grads((p: tf.Tensor) => chamferDistance(p as tf.Tensor3D, b) as tf.Scalar)([a])),
    );
    await expectNoLeak(() => chamferDistance(a, b, { pairCost: 'l1' as PairCost }));
    const empty = tf.zeros([2, 5]) as tf.Tensor2D;
    await expectNoLeak(() => chamferDistance({ x: a, mask: empty }, b));
    tf.dispose([a, b, mask, empty]);
  });

  it('rejects bad input with typed errors naming the argument, allocating nothing', () => {
    const a = randomSet(7, [2, 5, 3]);
    const b = randomSet(8, [2, 4, 3]);
    const flat = tf.zeros([5, 3]);
    const wrongBatch = tf.zeros([3, 4, 3]) as tf.Tensor3D;
    const wrongD = tf.zeros([2, 4, 2]) as tf.Tensor3D;
    const badMask = tf.ones([2, 4]);
    const emptyMask = tf.tensor2d([
      [1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0],
    ]);
    const nan = tf.tensor3d([
      [
        [0, 0, 0],
        [Number.NaN, 1, 2],
      ],
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
    ]);
    const inf = tf.tensor3d([
      [
        [0, 0, 0],
        [1, 1, 2],
      ],
      [
        [0, 0, 0],
        [1, Number.POSITIVE_INFINITY, 1],
      ],
    ]);
    const nanPadMask = tf.tensor2d([
      [1, 0],
      [1, 1],
    ]);
    const made = tf.memory().numTensors;
    expect(() => chamferDistance(flat as any, b)).toThrow(/a: expected .*\[B,N,D\]/);
    expect(() => chamferDistance(a, flat as any)).toThrow(ShapeError);
    expect(() => chamferDistance(a, wrongBatch)).toThrow(/b: expected batch size 2/);
    expect(() => chamferDistance(a, wrongD)).toThrow(/b: expected 3 features/);
    expect(() => chamferDistance({ x: a, mask: badMask as tf.Tensor2D }, b)).toThrow(
      /a\.mask: expected shape \[2,5\]/,
    );
    expect(() => chamferDistance({ x: a, mask: emptyMask }, b)).toThrow(DataError);
    expect(() => chamferDistance({ x: a, mask: emptyMask }, b)).toThrow(/a: batch element 1 has no valid/);
    expect(() => chamferDistance(a, nan)).toThrow(/b: expected finite values, got NaN at x\[0,1,0\]/);
    expect(() => chamferDistance(inf, b)).toThrow(DataError);
    // NaN in padding is ignored
    expect(() => chamferDistance(a, { x: nan, mask: nanPadMask }).dispose()).not.toThrow();
    expect(() => chamferDistance(a, b, { pairCost: 'l2' as PairCost })).toThrow(ConfigError);
    expect(() => chamferDistance(a, b, { pointReduction: 'max' as any })).toThrow(/pointReduction/);
    expect(() => chamferDistance(a, b, { reduction: 'avg' as any })).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(made);
    tf.dispose([a, b, flat, wrongBatch, wrongD, badMask, emptyMask, nan, inf, nanPadMask]);
  });
});
