import { FUSED_LAYER_NORM_FLAG, fusedLayerNormAvailable } from '@setgen/ops/internal';
import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { addLayerNormalize } from './layer-norm.js';

/** LN written with differentiated tfjs ops: the reference for value and gradients. */
function referenceNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), gamma), beta);
}

describeBackends('addLayerNormalize', () => {
  afterEach(() => tf.env().reset());

  for (const [shape, epsilon, fused] of [
    [[3, 5, 6], 1e-5, true],
    [[4, 8], 0.1, true],
    [[3, 5, 6], 1e-5, false],
    [[4, 8], 0.1, false],
  ] as [number[], number, boolean][]) {
    it(`is LN(x + residual) of the differentiated formula in value and gradients (${shape}, ε=${epsilon}, ${fused ? 'fused kernel' : 'composed ops'})`, () => {
      tf.env().set(FUSED_LAYER_NORM_FLAG, fused);
      expect(fusedLayerNormAvailable()).toBe(fused);
      const x = randomTensor(1, shape, 2);
      const r = randomTensor(6, shape, 2);
      const width = shape[shape.length - 1];
      const gamma = randomTensor(2, [width], 2);
      const beta = randomTensor(3, [width], 2);
      const w = randomTensor(4, shape, 2);
      const loss =
        (f: (...t: tf.Tensor[]) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(f(a, b, g, c), w));
      const ours = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, c: tf.Tensor) =>
        addLayerNormalize(a, b, g, c, epsilon);
      const ref = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, c: tf.Tensor) =>
        referenceNorm(tf.add(a, b), g, c, epsilon);
      expectClose(ours(x, r, gamma, beta).dataSync(), ref(x, r, gamma, beta).dataSync(), {
        rtol: 1e-5,
        atol: 1e-5,
      });
      const gOurs = tf.grads(loss(ours))([x, r, gamma, beta]);
      const gRef = tf.grads(loss(ref))([x, r, gamma, beta]);
      for (let i = 0; i < 4; i++) {
        expectClose(gOurs[i].dataSync(), gRef[i].dataSync(), { rtol: 1e-4, atol: 1e-5 });
      }
      tf.dispose([x, r, gamma, beta, w, ...gOurs, ...gRef]);
    });
  }

  it('LN(x + residual) leaks nothing, also when one summand feeds the loss twice', async () => {
    const x = randomTensor(11, [2, 3, 4], 2);
    const r = randomTensor(12, [2, 3, 4], 2);
    const gamma = tf.ones([4]);
    const beta = tf.zeros([4]);
    await expectNoLeak(() => {
      const loss = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.add(addLayerNormalize(a, b, gamma, beta), tf.mul(a, b)));
      tf.dispose(tf.grads(loss)([x, r]));
    });
    tf.dispose([x, r, gamma, beta]);
  });
});
