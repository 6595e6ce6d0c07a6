import { describeBackends, expectClose, expectNoLeak, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { addBias } from './bias-add.js';
import { sumToFeatures } from './feature-sum.js';

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const rand = testRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => rand() * 4 - 2),
    shape,
  );
}

describeBackends('addBias', () => {
  for (const relu of [false, true]) {
    it(`matches tf's ${relu ? 'relu(add)' : 'add'} in value and gradients`, () => {
      const y = randomTensor([3, 5, 4], 1);
      const bias = randomTensor([4], 2);
      const w = randomTensor([3, 5, 4], 3);
      const reference = (a: tf.Tensor, b: tf.Tensor) => (relu ? tf.relu(tf.add(a, b)) : tf.add(a, b));
      const ours = (a: tf.Tensor, b: tf.Tensor) => addBias(a, b, { relu });
      expectClose(ours(y, bias).dataSync(), reference(y, bias).dataSync(), { rtol: 1e-6, atol: 0 });
      const loss = (f: typeof ours) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w));
      const gOurs = tf.grads(loss(ours))([y, bias]);
      const gRef = tf.grads(loss(reference))([y, bias]);
      for (let i = 0; i < 2; i++) {
        expectClose(gOurs[i].dataSync(), gRef[i].dataSync(), { rtol: 1e-5, atol: 1e-6 });
      }
      tf.dispose([y, bias, w, ...gOurs, ...gRef]);
    });
  }

  it('leaks nothing in the forward and backward passes', async () => {
    const y = randomTensor([2, 3, 4], 4);
    const bias = randomTensor([4], 5);
    await expectNoLeak(() => {
      for (const relu of [false, true]) {
        const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(addBias(a, b, { relu }), a));
        tf.dispose(tf.grads(loss)([y, bias]));
      }
    });
    tf.dispose([y, bias]);
  });

  it('sumToFeatures sums every leading axis', () => {
    const t = randomTensor([3, 7, 5], 6);
    const sums = sumToFeatures(t);
    expect(sums.shape).toEqual([5]);
    expectClose(sums.dataSync(), tf.sum(t, [0, 1]).dataSync(), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([t, sums]);
  });
});
