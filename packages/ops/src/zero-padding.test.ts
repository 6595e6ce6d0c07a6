import { describeBackends, expectNoLeak, valuesOf } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { zeroPadding } from './zero-padding.js';

describeBackends('zeroPadding', () => {
  const junk = [Number.NaN, Number.POSITIVE_INFINITY, -1e30];
  // rows: element (1), padding (0), element (2), padding (0.3), padding (NaN), element (0.51)
  const mask = () =>
    tf.tensor2d([
      [1, 0, 2],
      [0.3, Number.NaN, 0.51],
    ]);

  it('replaces padded rows (mask ≤ 0.5 or NaN) by exact zeros, keeps elements bit for bit', () => {
    const values = [1.5, -2, junk[0], junk[1], 3, 4, junk[2], junk[0], 5, junk[1], 6, -7];
    const x = tf.tensor3d(values, [2, 3, 2]);
    const m = mask();
    expect(valuesOf(zeroPadding(x, m))).toEqual([1.5, -2, 0, 0, 3, 4, 0, 0, 0, 0, 6, -7]);
    tf.dispose([x, m]);
  });

  it('gradient: dy at elements, exactly 0 at padding (never NaN)', () => {
    const x = tf.tensor3d([1, 2, Number.NaN, 4, 5, 6, Number.NaN, 8, 9, 10, 11, 12], [2, 3, 2]);
    const m = mask();
    const probe = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]);
    const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(zeroPadding(t, m), probe)))([x]);
    expect(valuesOf(g)).toEqual([1, 2, 0, 0, 5, 6, 0, 0, 0, 0, 11, 12]);
    tf.dispose([x, m, probe]);
  });

  it('the where fallback (a dtype the kernel does not take) selects the same rows', () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2], 'int32');
    const m = mask();
    expect(valuesOf(zeroPadding(x, m))).toEqual([1, 2, 0, 0, 5, 6, 0, 0, 0, 0, 11, 12]);
    tf.dispose([x, m]);
  });

  it('leaks nothing, and a mask of the wrong shape is a ShapeError before any tensor work', async () => {
    const x = tf.ones([2, 3, 2]);
    const m = mask();
    const wrong = tf.ones([2, 2]) as tf.Tensor2D;
    await expectNoLeak(() => zeroPadding(x, m).dispose());
    await expectNoLeak(() => tf.dispose(tf.grads((t: tf.Tensor) => tf.sum(zeroPadding(t, m)))([x])));
    const before = tf.memory().numTensors;
    expect(() => zeroPadding(x, wrong)).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, m, wrong]);
  });
});
