import { ShapeError } from '@setgen/ops';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { maskedPermutation } from './masked-permutation.js';

describeBackends('maskedPermutation', () => {
  it('permutes on the host, writes 0 for -1, and its gradient is the adjoint (to second order)', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const source = Int32Array.from([3, -1, 0, 2, -1, 1]);
    const out = maskedPermutation(x, source, [3, 2]);
    expect(Array.from(out.dataSync())).toEqual([4, 0, 1, 3, 0, 2]);
    const weights = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const f = (t: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(maskedPermutation(t, source, [3, 2])), weights)) as tf.Scalar;
    // d/dx_e = 2 x_e w_r for source[r] = e: x0 → r2 (w 3), x1 → r5 (w 6), x2 → r3 (w 4), x3 → r0 (w 1)
    const g = tf.grad(f)(x);
    expect(Array.from(g.dataSync())).toEqual([6, 24, 24, 8]);
    const gg = tf.grad((t: tf.Tensor) => tf.sum(tf.grad(f)(t)))(x);
    expect(Array.from(gg.dataSync())).toEqual([6, 12, 8, 2]);
    tf.dispose([x, out, weights, g, gg]);
  });

  it('rejects repeated or out-of-range sources and a size mismatch, leaking nothing', async () => {
    const x = tf.zeros([4]);
    expect(() => maskedPermutation(x, Int32Array.from([1, 1]), [2])).toThrow(/source\[1\].*distinct/);
    expect(() => maskedPermutation(x, Int32Array.from([4]), [1])).toThrow(ShapeError);
    expect(() => maskedPermutation(x, Int32Array.from([0, 1]), [3])).toThrow(/3 entries/);
    await expectNoLeak(() => maskedPermutation(x, Int32Array.from([1, 1]), [2]));
    x.dispose();
  });
});
