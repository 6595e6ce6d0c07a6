import { describeBackends, expectClose, expectNoLeak, randomSet } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { pairwiseSquaredDistances } from './pairwise-distances.js';

/** Σ_c (a_ic − b_jc)² by broadcasting: the definition. */
function direct(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor {
  return tf.sum(tf.square(tf.sub(tf.expandDims(a, 2), tf.expandDims(b, 1))), 3);
}

describeBackends('pairwiseSquaredDistances', () => {
  it('equals the broadcast definition in value and gradient', () => {
    const a = randomSet(1, [3, 5, 4]);
    const b = randomSet(2, [3, 7, 4]);
    const out = pairwiseSquaredDistances(a, b);
    expect(out.shape).toEqual([3, 5, 7]);
    expectClose(out.dataSync(), direct(a, b).dataSync(), { rtol: 1e-5, atol: 1e-6 });
    const w = randomSet(3, [3, 5, 7]);
    const ours = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
      tf.sum(tf.mul(pairwiseSquaredDistances(p as tf.Tensor3D, q as tf.Tensor3D), w)),
    )([a, b]);
    const ref = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
      tf.sum(tf.mul(direct(p as tf.Tensor3D, q as tf.Tensor3D), w)),
    )([a, b]);
    expectClose(ours[0].dataSync(), ref[0].dataSync(), { rtol: 1e-4, atol: 1e-5 });
    expectClose(ours[1].dataSync(), ref[1].dataSync(), { rtol: 1e-4, atol: 1e-5 });
    tf.dispose([a, b, out, w, ...ours, ...ref]);
  });

  it('is never negative, also for coincident points far from the origin', () => {
    const a = tf.add(randomSet(4, [2, 6, 3]), 1000) as tf.Tensor3D;
    const out = pairwiseSquaredDistances(a, a);
    expect(Math.min(...out.dataSync())).toBeGreaterThanOrEqual(0);
    tf.dispose([a, out]);
  });

  it('names bad shapes and allocates nothing on error', async () => {
    const a = randomSet(5, [2, 5, 3]);
    const wrongB = randomSet(6, [3, 5, 3]);
    const wrongD = randomSet(7, [2, 5, 2]);
    const flat = tf.zeros([5, 3]);
    expect(() => pairwiseSquaredDistances(a, wrongB)).toThrow(/b: expected batch size 2/);
    expect(() => pairwiseSquaredDistances(a, wrongD)).toThrow(/b: expected 3 features/);
    expect(() => pairwiseSquaredDistances(flat as any, a)).toThrow(ShapeError);
    await expectNoLeak(() => pairwiseSquaredDistances(a, wrongD));
    await expectNoLeak(() => pairwiseSquaredDistances(a, a).dispose());
    tf.dispose([a, wrongB, wrongD, flat]);
  });
});
