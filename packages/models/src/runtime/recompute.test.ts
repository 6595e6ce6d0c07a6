import { describeBackends, expectClose, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { recomputed } from './recompute.js';

/** One gradient step on (x, w): x − η ∂/∂x Σ w·x⁴/4 = x − η·w·x³ (a gradient inside, as DSPN's). */
function step(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const inner = tf.grads((y: tf.Tensor) => tf.sum(tf.mul(w, tf.div(tf.pow(y, 4), 4))));
  const [dx] = inner([x]);
  return tf.sub(x, tf.mul(dx, 0.1));
}

describeBackends('recomputed', () => {
  it('same value and gradients (through a gradient inside) as the taped function; no leak', async () => {
    const x = tf.tensor1d([0.5, -1.2, 2]);
    const w = tf.variable(tf.tensor1d([1.5, 0.3, -0.7]));
    const loss = (through: (a: tf.Tensor) => tf.Tensor) => (a: tf.Tensor) =>
      tf.sum(tf.square(through(through(a)))); // two steps in a row
    const taped = loss((a) => step(a, w));
    const light = loss((a) => recomputed((b) => step(b, w), [a], [w]));
    const direct = tf.variableGrads(() => taped(x) as tf.Scalar, [w]);
    const again = tf.variableGrads(() => light(x) as tf.Scalar, [w]);
    expectClose(again.value.dataSync(), direct.value.dataSync(), { rtol: 1e-6 });
    expectClose(again.grads[w.name].dataSync(), direct.grads[w.name].dataSync(), { rtol: 1e-5 });
    const [gx] = tf.grads(light)([x]);
    const [hx] = tf.grads(taped)([x]);
    expectClose(gx.dataSync(), hx.dataSync(), { rtol: 1e-5 });
    tf.dispose([
      direct.value,
      again.value,
      ...Object.values(direct.grads),
      ...Object.values(again.grads),
      gx,
      hx,
    ]);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => light(x) as tf.Scalar, [w]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    tf.dispose([x, w]);
  });

  it('a gradient of a gradient through it is refused, not silently wrong', () => {
    const w = tf.variable(tf.scalar(0.8));
    const x = tf.tensor1d([0.3, 0.6]);
    const firstOrder = (a: tf.Tensor) =>
      tf.grads((b: tf.Tensor) => tf.sum(recomputed((c) => tf.mul(tf.pow(c, 3), w), [b], [w])))([a])[0];
    expect(() => tf.grads((a: tf.Tensor) => tf.sum(firstOrder(a)))([x])).toThrow(/gradient of a gradient/);
    tf.dispose([w, x]);
  });
});
