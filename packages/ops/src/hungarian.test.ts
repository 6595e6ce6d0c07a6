import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  loadFixture,
  randomSet,
  valuesOf,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { hungarianLoss, hungarianMatching } from './hungarian.js';
import type { PairCost } from './pair-cost.js';

const { set_loss: setLoss } = loadFixture(import.meta.dirname, 'hungarian.json');

// REFERENCES.md §13 toy sets: optimal assignment X→Y = [0, 2, 1] under all three costs.
const toyX = [
  [
    [0, 0],
    [1, 0],
    [0, 1],
  ],
];
const toyY = [
  [
    [0, 0.5],
    [1, 1],
    [2, 0],
  ],
];

describeBackends('hungarianLoss / hungarianMatching', () => {
  for (const c of setLoss) {
    it(`matches the fixture set_loss ${c.name} (sum, mean per element, batch means, assignment)`, () => {
      const x = tf.tensor3d(c.x);
      const y = tf.tensor3d(c.y);
      expectClose(valuesOf(hungarianLoss(x, y, { pointReduction: 'sum', reduction: 'none' })), c.loss_sum, {
        rtol: 2e-5,
      });
      expectClose(valuesOf(hungarianLoss(x, y, { reduction: 'none' })), c.loss_mean_per_element, {
        rtol: 2e-5,
      });
      expectClose(valuesOf(hungarianLoss(x, y)), c.batch_mean_loss_mean, { rtol: 2e-5 });
      expectClose(valuesOf(hungarianLoss(x, y, { pointReduction: 'sum' })), c.batch_mean_loss_sum, {
        rtol: 2e-5,
      });
      expect(hungarianMatching(x, y).map((p) => Array.from(p))).toEqual(c.assignment_y_index_for_each_x);
      tf.dispose([x, y]);
    });
  }

  it('reproduces REFERENCES.md §13 H1–H3 (Top-n, FSPool AE, DSPN presets)', () => {
    const x = tf.tensor3d(toyX);
    const y = tf.tensor3d(toyY);
    for (const pairCost of ['sqeuclidean', 'euclidean', 'huber'] as PairCost[]) {
      expect(Array.from(hungarianMatching(x, y, { pairCost })[0])).toEqual([0, 2, 1]);
    }
    expectClose(valuesOf(hungarianLoss(x, y, { pairCost: 'euclidean', reduction: 'sum' })), 0.8333333, {
      rtol: 1e-6,
    });
    expectClose(valuesOf(hungarianLoss(x, y, { pairCost: 'euclidean', pointReduction: 'sum' })), 2.5, {
      rtol: 1e-6,
    });
    expectClose(valuesOf(hungarianLoss(x, y)), 0.75, { rtol: 1e-6 });
    expectClose(valuesOf(hungarianLoss(x, y, { pairCost: 'huber' })), 0.1875, { rtol: 1e-6 });
    tf.dispose([x, y]);
  });

  it('matches sets of different sizes: min(n, m) pairs, -1 for the left-over elements of a', () => {
    const a = randomSet(1, [1, 5, 2]);
    const b = tf.slice(randomSet(2, [1, 5, 2]), [0, 0, 0], [1, 3, 2]) as tf.Tensor3D;
    const [partner] = hungarianMatching(a, b);
    expect(partner.length).toBe(5);
    expect(partner.filter((p) => p === -1).length).toBe(2);
    expect(new Set(Array.from(partner).filter((p) => p >= 0))).toEqual(new Set([0, 1, 2]));
    const [back] = hungarianMatching(b, a);
    expect(back.length).toBe(3);
    // the same pairs from either side, so the same loss
    Array.from(partner).forEach((p, i) => {
      if (p >= 0) expect(back[p]).toBe(i);
    });
    expectClose(valuesOf(hungarianLoss(a, b)), valuesOf(hungarianLoss(b, a)), { rtol: 1e-6 });
    tf.dispose([a, b]);
  });

  it('is invariant to permutations of either set and padding never changes a result', () => {
    const a = randomSet(3, [2, 6, 3]);
    const b = randomSet(4, [2, 6, 3]);
    for (const pairCost of ['sqeuclidean', 'euclidean', 'huber'] as PairCost[]) {
      const ref = valuesOf(hungarianLoss(a, b, { pairCost, reduction: 'none' }));
      const pa = tf.gather(a, [5, 3, 0, 1, 4, 2], 1) as tf.Tensor3D;
      const pb = tf.gather(b, [1, 0, 4, 5, 2, 3], 1) as tf.Tensor3D;
      expectClose(valuesOf(hungarianLoss(pa, pb, { pairCost, reduction: 'none' })), ref, { rtol: 1e-6 });
      // scattered padding with junk: rows 0..5 of a and b placed at the mask's 1s
      const pos = [0, 2, 3, 5, 6, 8];
      const junk = (t: tf.Tensor3D) => {
        const rows = tf.unstack(t, 1);
        const filler = tf.fill([2, 3], 1e4);
        const out = tf.stack(
          [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => (pos.includes(k) ? rows[pos.indexOf(k)] : filler)),
          1,
        );
        tf.dispose([...rows, filler]);
        return out as tf.Tensor3D;
      };
      const mask = tf.tensor2d([
        [1, 0, 1, 1, 0, 1, 1, 0, 1],
        [1, 0, 1, 1, 0, 1, 1, 0, 1],
      ]);
      const ja = junk(a);
      const jb = junk(b);
      expectClose(
        valuesOf(hungarianLoss({ x: ja, mask }, { x: jb, mask }, { pairCost, reduction: 'none' })),
        ref,
        { rtol: 1e-6 },
      );
      const partners = hungarianMatching({ x: ja, mask }, { x: jb, mask }, { pairCost });
      const plain = hungarianMatching(a, b, { pairCost });
      expect(partners.map((p) => Array.from(p))).toEqual(plain.map((p) => Array.from(p, (j) => pos[j])));
      tf.dispose([pa, pb, ja, jb, mask]);
    }
    tf.dispose([a, b]);
  });

  for (const pairCost of ['sqeuclidean', 'euclidean', 'huber'] as PairCost[]) {
    it(`gradients equal central finite differences ('${pairCost}', masked target)`, () => {
      // well separated, so a small step never changes the assignment
      const a = tf.tensor3d([
        [
          [0, 0],
          [2.1, 0.3],
          [0.2, 2.4],
        ],
      ]);
      const b = tf.tensor3d([
        [
          [2.6, -0.4],
          [0.5, -0.3],
          [-0.6, 1.8],
          [50, 50],
        ],
      ]);
      const mask = tf.tensor2d([[1, 1, 1, 0]]);
      const loss = (p: tf.Tensor, q: tf.Tensor) =>
        hungarianLoss(p as tf.Tensor3D, { x: q as tf.Tensor3D, mask }, { pairCost }) as tf.Scalar;
      const [ga, gb] = tf.grads(loss)([a, b]);
      expectClose(
        valuesOf(ga),
        finiteDifferenceGradient((p) => loss(p, b), a, 1e-2),
        { rtol: 2e-3, atol: 2e-4 },
      );
      const gB = valuesOf(gb);
      expectClose(
        gB,
        finiteDifferenceGradient((q) => loss(a, q), b, 1e-2),
        { rtol: 2e-3, atol: 2e-4 },
      );
      expect(gB.slice(6)).toEqual([0, 0]);
      tf.dispose([a, b, mask]);
    });
  }

  it('leaks nothing and rejects bad input with typed errors, allocating nothing', async () => {
    const a = randomSet(5, [2, 4, 3]);
    const b = randomSet(6, [2, 4, 3]);
    const wrong = randomSet(7, [2, 4, 2]);
    const empty = tf.tensor2d([
      [1, 1, 0, 0],
      [0, 0, 0, 0],
    ]);
    const nan = tf.tensor3d([[[Number.NaN, 0, 0]], [[0, 0, 0]]]);
    await expectNoLeak(() => hungarianLoss(a, b).dispose());
    await expectNoLeak(() => hungarianMatching(a, b));
    await expectNoLeak(() =>
      tf.dispose(
        tf.grads(
          (p: tf.Tensor) => hungarianLoss(p as tf.Tensor3D, b, { pairCost: 'euclidean' }) as tf.Scalar,
        )([a]),
      ),
    );
    await expectNoLeak(() => hungarianLoss(a, { x: b, mask: empty }));
    const flat = tf.zeros([4, 3]);
    const before = tf.memory().numTensors;
    expect(() => hungarianLoss(a, wrong)).toThrow(/target: expected 3 features/);
    expect(() => hungarianMatching(a, wrong)).toThrow(ShapeError);
    expect(() => hungarianLoss(a, { x: b, mask: empty })).toThrow(/target: batch element 1 has no valid/);
    expect(() => hungarianMatching(nan, flat as any)).toThrow(/b: expected/);
    expect(() => hungarianLoss(flat as any, nan)).toThrow(/pred: expected/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => hungarianLoss(nan, nan)).toThrow(DataError);
    expect(() => hungarianLoss(a, b, { pairCost: 'cosine' as PairCost })).toThrow(ConfigError);
    expect(() => hungarianLoss(a, b, { pointReduction: 'max' as any })).toThrow(/pointReduction/);
    expect(() => hungarianLoss(a, b, { reduction: 'avg' as any })).toThrow(ConfigError);
    tf.dispose([a, b, wrong, empty, nan, flat]);
  });
});
