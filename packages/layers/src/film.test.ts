import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  saveToMemory,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { type FiLM, featureWiseLinearModulation, film } from './film.js';

const weights = {
  gammaKernel: [
    [1, 2],
    [0, -1],
  ],
  gammaBias: [0.5, 1],
  betaKernel: [
    [0, 1],
    [3, 0],
  ],
  betaBias: [-1, 0.25],
};

function configured(): FiLM {
  const layer = film({ seed: 1 });
  layer.build([
    [null, null, 2],
    [null, 2],
  ]);
  const values = [weights.gammaKernel, weights.gammaBias, weights.betaKernel, weights.betaBias].map((w) =>
    tf.tensor(w),
  );
  layer.setWeights(values);
  tf.dispose(values);
  return layer;
}

/** γ(c) ⊙ x + β(c) on the host for one element x and condition c. */
function host(x: number[], c: number[]): number[] {
  return x.map((v, j) => {
    const gamma = weights.gammaBias[j] + c.reduce((s, ci, i) => s + ci * weights.gammaKernel[i][j], 0);
    const beta = weights.betaBias[j] + c.reduce((s, ci, i) => s + ci * weights.betaKernel[i][j], 0);
    return gamma * v + beta;
  });
}

describeBackends('FiLM', () => {
  it('modulates every element of a set by its set condition, zero at padded rows', () => {
    const layer = configured();
    const xs = [
      [
        [1, 2],
        [3, -1],
      ],
      [
        [0.5, 0.5],
        [9, 9],
      ],
    ];
    const cs = [
      [1, 0],
      [-0.5, 2],
    ];
    const x = tf.tensor3d(xs);
    const c = tf.tensor2d(cs);
    const mask = tf.tensor2d([
      [1, 1],
      [1, 0],
    ]);
    const out = layer.apply([x, c], { mask: [mask, null] }) as tf.Tensor;
    const expected = [host(xs[0][0], cs[0]), host(xs[0][1], cs[0]), host(xs[1][0], cs[1]), [0, 0]];
    expectClose(out.dataSync(), expected.flat(), { rtol: 1e-6 });
    tf.dispose([x, c, mask, out]);
  });

  it('takes per-element conditions [B, N, Dc] and plain vectors [B, C]', () => {
    const x = tf.tensor3d([
      [
        [1, 2],
        [3, -1],
      ],
    ]);
    const c = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
      ],
    ]);
    const w = {
      gammaKernel: tf.tensor2d(weights.gammaKernel),
      gammaBias: tf.tensor1d(weights.gammaBias),
      betaKernel: tf.tensor2d(weights.betaKernel),
      betaBias: tf.tensor1d(weights.betaBias),
    };
    const out = featureWiseLinearModulation(x, c, w);
    expectClose(out.dataSync(), [...host([1, 2], [1, 0]), ...host([3, -1], [0, 1])], { rtol: 1e-6 });
    const flat = featureWiseLinearModulation(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 1]]), w);
    expectClose(flat.dataSync(), host([1, 2], [0, 1]), { rtol: 1e-6 });
    tf.dispose([x, c, out, flat, ...Object.values(w)]);
  });

  it('starts near the identity (γ bias 1, β bias 0) and its gradient matches finite differences', () => {
    const layer = film({ seed: 3 });
    const x = tf.tensor3d([[[0.2, -0.4, 0.7]]]);
    const c = tf.tensor2d([[0.3, 0.1]]);
    (layer.apply([x, c]) as tf.Tensor).dispose();
    const [, gammaBias, , betaBias] = layer.getWeights();
    expect(Array.from(gammaBias.dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(betaBias.dataSync())).toEqual([0, 0, 0]);
    const f = (t: tf.Tensor) => tf.sum(tf.square(layer.apply([x, t]) as tf.Tensor)) as tf.Scalar;
    const g = tf.grad(f)(c);
    expectClose(g.dataSync(), finiteDifferenceGradient(f, c, 1e-3), { rtol: 1e-2, atol: 1e-3 });
    tf.dispose([x, c, g]);
  });

  it('works in a saved-and-loaded model with equal outputs', async () => {
    const xIn = tfl.input({ shape: [null, 3] });
    const cIn = tfl.input({ shape: [2] });
    const out = film({ seed: 5 }).apply([xIn, cIn]) as tfl.SymbolicTensor;
    expect(out.shape).toEqual([null, null, 3]);
    const model = tfl.model({ inputs: [xIn, cIn], outputs: out });
    const saved = await saveToMemory(model);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const x = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 1);
    const c = tf.randomNormal([2, 2], 0, 1, 'float32', 2);
    const a = model.predict([x, c]) as tf.Tensor;
    const b = loaded.predict([x, c]) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, c, a, b]);
  });

  it('rejects bad inputs and configs with typed errors, leaking nothing', async () => {
    expect(() => film({ gammaBiasInit: Number.NaN })).toThrow(ConfigError);
    const layer = configured();
    const x = tf.zeros([2, 3, 2]);
    const c = tf.zeros([2, 5]);
    expect(() => layer.apply([x, c])).toThrow(ShapeError);
    expect(() => layer.apply([x, c])).toThrow(/condition \[B, 2\].*\[2,5\]/);
    expect(() => layer.apply(x)).toThrow(ShapeError);
    await expectNoLeak(() => layer.apply([x, c]));
    // a call and a training step leave nothing behind
    const good = tf.ones([2, 2]);
    (layer.apply([x, good]) as tf.Tensor).dispose();
    const before = tf.memory().numTensors;
    (layer.apply([x, good]) as tf.Tensor).dispose();
    const optimizer = tf.train.sgd(0.1);
    optimizer.minimize(() => tf.sum(layer.apply([tf.onesLike(x), good]) as tf.Tensor) as tf.Scalar);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    good.dispose();
    tf.dispose([x, c]);
  });
});
