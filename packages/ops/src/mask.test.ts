import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { maskFromSizes, zeroPadding } from './mask.js';

describeBackends('maskFromSizes', () => {
  it('marks the first sizes[b] rows of each set', () => {
    const mask = maskFromSizes([2, 0, 3], 3);
    expect(mask.shape).toEqual([3, 3]);
    expect(Array.from(mask.dataSync())).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1]);
    mask.dispose();
  });

  it('accepts a Tensor1D of sizes', () => {
    const sizes = tf.tensor1d([1, 2], 'int32');
    const mask = maskFromSizes(sizes, 2);
    expect(Array.from(mask.dataSync())).toEqual([1, 0, 1, 1]);
    tf.dispose([sizes, mask]);
  });

  it('rejects sizes beyond maxSize with a ShapeError naming the entry, leaking nothing', async () => {
    expect(() => maskFromSizes([1, 5], 4)).toThrow(ShapeError);
    expect(() => maskFromSizes([1, 5], 4)).toThrow(/sizes\[1\]/);
    await expectNoLeak(() => maskFromSizes([1, 5], 4));
  });
});

describeBackends('zeroPadding', () => {
  it('sets padded rows to exactly 0, NaN and Infinity included, and passes no gradient there', () => {
    const x = tf.tensor3d([
      [
        [1, Number.NaN],
        [Number.POSITIVE_INFINITY, 2],
      ],
      [
        [3, 4],
        [5, 6],
      ],
    ]);
    const mask = tf.tensor2d([
      [0, 1],
      [1, 1],
    ]);
    const padded = tf.tensor3d([
      [
        [7, 7],
        [7, 7],
      ],
      [
        [7, 7],
        [7, 7],
      ],
    ]);
    expect(Array.from(zeroPadding(tf.add(x, 0) as tf.Tensor3D, mask).dataSync())).toEqual([
      0,
      0,
      Number.POSITIVE_INFINITY,
      2,
      3,
      4,
      5,
      6,
    ]);
    const grad = tf.grad((p: tf.Tensor) => tf.sum(zeroPadding(p as tf.Tensor3D, mask)))(padded);
    expect(Array.from(grad.dataSync())).toEqual([0, 0, 1, 1, 1, 1, 1, 1]);
    expect(zeroPadding(x, null)).toBe(x);
    tf.dispose([x, mask, padded, grad]);
  });

  it('leaves no tensor behind', async () => {
    const x = tf.ones([2, 3, 2]) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 0, 0],
      [1, 1, 0],
    ]);
    await expectNoLeak(() => tf.dispose(zeroPadding(x, mask)));
    tf.dispose([x, mask]);
  });
});
