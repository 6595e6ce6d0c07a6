import { ConfigError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { denseProjection, reluBackward } from './dense-projection.js';
import { sumToFeatures } from './feature-sum.js';

/** The layer with differentiated tfjs ops: the reference for value and gradients. */
function reference(t: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | null, relu: boolean): tf.Tensor {
  const [b, n, d] = t.shape as number[];
  const units = kernel.shape[1] as number;
  const product = tf.reshape(tf.matMul(tf.reshape(t, [b * n, d]) as tf.Tensor2D, kernel as tf.Tensor2D), [
    b,
    n,
    units,
  ]);
  const biased = bias ? tf.add(product, bias) : product;
  return relu ? tf.relu(biased) : biased;
}

describeBackends('denseProjection', () => {
  for (const [withBias, relu] of [
    [false, false],
    [true, false],
    [true, true],
  ] as const) {
    it(`bias ${withBias}, relu ${relu}: tf's value and gradients for the input, kernel and bias`, () => {
      const t = randomTensor(1, [3, 5, 4], 2);
      const kernel = randomTensor(2, [4, 6], 2);
      const bias = randomTensor(3, [6], 2);
      const w = randomTensor(4, [3, 5, 6], 2);
      const ours = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        denseProjection(a, k, { bias: withBias ? c : null, relu });
      const ref = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => reference(a, k, withBias ? c : null, relu);
      expectClose(ours(t, kernel, bias).dataSync(), ref(t, kernel, bias).dataSync(), {
        rtol: 1e-5,
        atol: 1e-5,
      });
      const loss = (f: typeof ours) => (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(f(a, k, withBias ? c : tf.zerosLike(c)), w));
      const inputs = withBias ? [t, kernel, bias] : [t, kernel];
      const gOurs = tf.grads((a: tf.Tensor, k: tf.Tensor, c?: tf.Tensor) => loss(ours)(a, k, c ?? bias))(
        inputs,
      );
      const gRef = tf.grads((a: tf.Tensor, k: tf.Tensor, c?: tf.Tensor) => loss(ref)(a, k, c ?? bias))(
        inputs,
      );
      for (let i = 0; i < inputs.length; i++) {
        expectClose(gOurs[i].dataSync(), gRef[i].dataSync(), { rtol: 1e-4, atol: 1e-4 });
      }
      tf.dispose([t, kernel, bias, w, ...gOurs, ...gRef]);
    });
  }

  it('leaks nothing in the forward and backward passes', async () => {
    const t = randomTensor(5, [2, 3, 4], 2);
    const kernel = randomTensor(6, [4, 4], 2);
    const bias = randomTensor(7, [4], 2);
    await expectNoLeak(() => {
      for (const relu of [false, true]) {
        const loss = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(denseProjection(a, k, { bias: c, relu }), a));
        tf.dispose(tf.grads(loss)([t, kernel, bias]));
      }
      tf.dispose(tf.grads((a: tf.Tensor) => tf.sum(denseProjection(a, kernel)))([t]));
    });
    tf.dispose([t, kernel, bias]);
  });

  it("reluBackward: dy ⊙ [out > 0], a gradient in dy only (relu'' = 0)", () => {
    const dy = randomTensor(8, [2, 3, 4], 2);
    const out = tf.tidy(() => tf.relu(randomTensor(9, [2, 3, 4], 2)));
    const up = randomTensor(10, [2, 3, 4], 2);
    const gate = tf.tidy(() => tf.cast(tf.greater(out, 0), 'float32'));
    const value = reluBackward(dy, out);
    expectClose(value.dataSync(), tf.tidy(() => tf.mul(dy, gate)).dataSync(), { rtol: 0, atol: 0 });
    const [gDy, gOut] = tf.grads((a: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(reluBackward(a, o), up)))([
      dy,
      out,
    ]);
    expectClose(gDy.dataSync(), tf.tidy(() => tf.mul(up, gate)).dataSync(), { rtol: 0, atol: 0 });
    expect(Array.from(gOut.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(gate.dataSync()).some((v) => v === 0)).toBe(true);
    tf.dispose([dy, out, up, gate, value, gDy, gOut]);
  });

  it('relu needs a bias (ConfigError)', () => {
    const t = tf.zeros([1, 2, 3]);
    const kernel = tf.zeros([3, 3]);
    expect(() => denseProjection(t, kernel, { relu: true })).toThrow(ConfigError);
    tf.dispose([t, kernel]);
  });

  it('sumToFeatures sums every leading axis', () => {
    const t = randomTensor(8, [3, 7, 5], 2);
    const sums = sumToFeatures(t);
    expect(sums.shape).toEqual([5]);
    expectClose(sums.dataSync(), tf.sum(t, [0, 1]).dataSync(), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([t, sums]);
  });
});
