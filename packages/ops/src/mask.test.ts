import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { maskFromSizes } from './mask.js';

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
