import { ConfigError, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, finiteDifferenceGradient } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { MLPCreation, mlpCreation } from './mlp-creation.js';

describeBackends('MLPCreation', () => {
  it('reads maxSize·C MLP outputs as points and keeps the first n', () => {
    const layer = mlpCreation({ maxSize: 3, featureDim: 2, hiddenUnits: 4, seed: 1 });
    const z = tf.tensor2d([
      [0.5, -1],
      [2, 0.25],
    ]);
    const { x, mask } = layer.create(z, [3, 2]);
    expect(x.shape).toEqual([2, 3, 2]);
    const [k1, b1, k2, b2] = layer.getWeights().map((w) => w.arraySync() as any);
    expect([k1.length, k1[0].length, b1.length, k2[0].length, b2.length]).toEqual([2, 4, 4, 6, 6]);
    // host MLP: h = relu(z W1 + b1); out = relu(h) W2 + b2 (no residual: widths differ)
    const host = z.arraySync().map((row) => {
      const h = b1.map((b: number, j: number) =>
        Math.max(0, b + row.reduce((s, v, i) => s + v * k1[i][j], 0)),
      );
      return b2.map(
        (b: number, j: number) => b + h.reduce((s: number, v: number, i: number) => s + v * k2[i][j], 0),
      );
    });
    host[1][4] = 0;
    host[1][5] = 0;
    expectClose(x.dataSync(), host.flat(), { rtol: 1e-5, atol: 1e-6 });
    expect(Array.from(mask!.dataSync())).toEqual([1, 1, 1, 1, 1, 0]);
    tf.dispose([z, x, mask!]);
  });

  it('adds the input residual when the latent width equals hiddenUnits, and its gradient w.r.t. z matches finite differences', () => {
    const layer = mlpCreation({ maxSize: 2, featureDim: 2, hiddenUnits: 3, seed: 2 });
    const z = tf.tensor2d([[0.3, -0.2, 0.9]]);
    const zero = tf.zeros([1, 3]) as tf.Tensor2D;
    tf.dispose(Object.values(layer.create(zero, [2])));
    // with kernel1 = 0 and bias1 = 0, h = relu(0) + z: the residual alone carries z
    const [k1, b1, k2, b2] = layer.getWeights();
    const zeroed = [tf.zerosLike(k1), tf.zerosLike(b1), k2, b2];
    layer.setWeights(zeroed);
    const { x } = layer.create(z, [2]);
    const expected = tf.add(tf.matMul(tf.relu(z), k2 as tf.Tensor2D), b2);
    expectClose(x.dataSync(), expected.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    layer.setWeights([k1, b1, k2, b2]);
    const f = (t: tf.Tensor) => tf.sum(tf.square(layer.create(t as tf.Tensor2D, [2]).x)) as tf.Scalar;
    const g = tf.grad(f)(z);
    expectClose(g.dataSync(), finiteDifferenceGradient(f, z, 1e-3), { rtol: 1e-2, atol: 1e-3 });
    tf.dispose([z, zero, ...zeroed.slice(0, 2), x, expected, g]);
  });

  it('adds the output residual when maxSize·C equals hiddenUnits (the reference MLP)', () => {
    const layer = mlpCreation({ maxSize: 2, featureDim: 2, hiddenUnits: 4, seed: 5 });
    const z = tf.tensor2d([[0.4, -0.7, 1.1]]);
    const { x } = layer.create(z, [2]);
    const [k1, b1, k2, b2] = layer.getWeights();
    const h = tf.relu(tf.add(tf.matMul(z, k1 as tf.Tensor2D), b1));
    const expected = tf.add(tf.add(tf.matMul(tf.relu(h), k2 as tf.Tensor2D), b2), h);
    expectClose(x.dataSync(), expected.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([z, x, h, expected]);
  });

  it('round-trips through getConfig + setWeights, trains without leaks, fails clearly beyond maxSize', async () => {
    const layer = new MLPCreation({ maxSize: 3, featureDim: 2, hiddenUnits: 5, seed: 3 });
    const z = tf.ones([2, 4]) as tf.Tensor2D;
    const a = layer.create(z, [3, 1]);
    const copy = new MLPCreation(layer.getConfig() as any);
    tf.dispose(Object.values(copy.create(z, [1, 1])));
    copy.setWeights(layer.getWeights());
    const b = copy.create(z, [3, 1]);
    expect(Array.from(b.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
    const before = tf.memory().numTensors;
    const optimizer = tf.train.sgd(0.01);
    optimizer.minimize(() => tf.sum(tf.square(layer.create(z, [3, 2]).x)) as tf.Scalar);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => layer.create(z, [4, 1])).toThrow(/sizes\[0\]: 4 exceeds maxSize = 3/);
    const wrong = tf.ones([2, 3]) as tf.Tensor2D;
    expect(() => layer.create(wrong, [1, 1])).toThrow(ShapeError);
    await expectNoLeak(() => layer.create(wrong, [1, 1]));
    await expectNoLeak(() => layer.create(z, [4, 1]));
    expect(() => mlpCreation({ maxSize: 3, featureDim: 2, hiddenUnits: 0 })).toThrow(ConfigError);
    tf.dispose([z, wrong, a.x, a.mask!, b.x, b.mask!]);
  });
});
