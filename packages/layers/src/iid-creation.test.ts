import { ConfigError, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, saveToMemory } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { IidCreation, iidCreation } from './iid-creation.js';
import { MixtureOfGaussiansPrior } from './mixture-of-gaussians-prior.js';

describeBackends('IidCreation', () => {
  it('creates a prefix-masked batch of the requested sizes, zero at padding', () => {
    const layer = iidCreation({ featureDim: 3, seed: 1 });
    const z = tf.zeros([3, 5]) as tf.Tensor2D;
    const { x, mask } = layer.create(z, [2, 0, 4], { seed: 7 });
    expect(x.shape).toEqual([3, 4, 3]);
    expect(Array.from(mask!.dataSync())).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const v = x.arraySync();
    expect(v[0][2].every((e) => e === 0)).toBe(true);
    expect(v[1].flat().every((e) => e === 0)).toBe(true);
    expect(v[2].flat().every((e) => e !== 0)).toBe(true);
    tf.dispose([z, x, mask!]);
  });

  it('is deterministic given the seed, differs across seeds, and advances its own stream without one', () => {
    const layer = new IidCreation({ featureDim: 2, seed: 3 });
    const z = tf.zeros([2, 1]) as tf.Tensor2D;
    const draw = (seed?: number) => {
      const { x, mask } = layer.create(z, [3, 3], seed === undefined ? {} : { seed });
      const values = Array.from(x.dataSync());
      tf.dispose([x, mask!]);
      return values;
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
    expect(draw()).not.toEqual(draw());
    // two layers with the same seed give the same stream
    const twin = new IidCreation({ featureDim: 2, seed: 3 });
    const a = new IidCreation({ featureDim: 2, seed: 3 }).create(z, [3, 3]);
    const b = twin.create(z, [3, 3]);
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    tf.dispose([z, a.x, a.mask!, b.x, b.mask!]);
  });

  it('works for any size, far beyond a training maximum', () => {
    const layer = new IidCreation({ featureDim: 2, maxSize: 4, seed: 1 });
    const z = tf.zeros([1, 3]) as tf.Tensor2D;
    const { x, mask } = layer.create(z, [500]);
    expect(x.shape).toEqual([1, 500, 2]);
    expect(tf.sum(mask!).dataSync()[0]).toBe(500);
    const small = layer.create(z, [2]);
    expect(small.x.shape).toEqual([1, 4, 2]);
    tf.dispose([z, x, mask!, small.x, small.mask!]);
  });

  it('draws exchangeable elements: every position has the N(0, I) moments, uncorrelated', () => {
    const layer = new IidCreation({ featureDim: 1, seed: 2 });
    const z = tf.zeros([2000, 1]) as tf.Tensor2D;
    const { x, mask } = layer.create(z, new Array(2000).fill(3), { seed: 4 });
    const v = x.dataSync();
    const column = (i: number) => Array.from({ length: 2000 }, (_, b) => v[b * 3 + i]);
    const cols = [0, 1, 2].map(column);
    const mean = (a: number[]) => a.reduce((s, e) => s + e, 0) / a.length;
    expectClose(cols.map(mean), [0, 0, 0], { atol: 0.08 });
    expectClose(
      cols.map((c) => mean(c.map((e) => e * e))),
      [1, 1, 1],
      { atol: 0.1 },
    );
    expectClose(mean(cols[0].map((e, b) => e * cols[2][b])), 0, { atol: 0.08 });
    tf.dispose([z, x, mask!]);
  });

  it('scaleBySqrtN divides each set by sqrt(n), as Top-n’s i.i.d. generator', () => {
    const z = tf.zeros([2, 1]) as tf.Tensor2D;
    const plain = new IidCreation({ featureDim: 2 }).create(z, [4, 1], { seed: 9 });
    const scaled = new IidCreation({ featureDim: 2, scaleBySqrtN: true }).create(z, [4, 1], { seed: 9 });
    const p = plain.x.dataSync();
    const expected = Array.from(p).map((e, i) => (i < 8 ? e / 2 : e));
    expectClose(scaled.x.dataSync(), expected, { rtol: 1e-6 });
    tf.dispose([z, plain.x, plain.mask!, scaled.x, scaled.mask!]);
  });

  it('with a MixtureOfGaussiansPrior: draws from it, exposes its weights, trains them, round-trips', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 4, dim: 3, seed: 1 });
    const layer = new IidCreation({ featureDim: 3, prior, seed: 2 });
    const z = tf.zeros([2, 8]) as tf.Tensor2D;
    const { x, mask } = layer.create(z, [5, 3], { seed: 6 });
    const direct = prior.sample(2, 5, { seed: 6 });
    const expected = direct.arraySync();
    expected[1][3] = [0, 0, 0];
    expected[1][4] = [0, 0, 0];
    expectClose(x.dataSync(), expected.flat(2), { rtol: 1e-6 });
    expect(layer.getWeights().map((w) => w.shape)).toEqual([[4], [4, 3], [4, 3]]);
    expect(layer.trainableWeights).toHaveLength(3);

    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const out = layer.create(z, [5, 3], { seed: 6 });
      return tf.sum(tf.square(out.x)) as tf.Scalar;
    });
    expect(Object.keys(grads)).toHaveLength(3);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);

    const copy = new IidCreation(layer.getConfig() as any);
    copy.setWeights(layer.getWeights());
    const again = copy.create(z, [5, 3], { seed: 6 });
    expect(Array.from(again.x.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([z, x, mask!, direct, again.x, again.mask!]);
  });

  it('saves and loads inside a model with its mixture prior, drawing the same sets', async () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 3, dim: 2, seed: 4 });
    const input = tfl.input({ shape: [5] });
    const outputs = new IidCreation({ featureDim: 2, prior, maxSize: 4, seed: 9 }).apply(
      input,
    ) as tfl.SymbolicTensor[];
    const model = tfl.model({ inputs: input, outputs });
    // weights that no initialiser reproduces, so equal draws prove they were saved and loaded
    const custom = [
      tf.tensor1d([0, 2, -1]),
      tf.tensor2d([
        [5, 5],
        [-5, 0],
        [0, 9],
      ]),
      tf.fill([3, 2], -2),
    ];
    prior.setWeights(custom);
    tf.dispose(custom);
    const saved = await saveToMemory(model);
    expect(saved.weightSpecs!.map((w) => w.shape)).toEqual([[3], [3, 2], [3, 2]]);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const z = tf.zeros([2, 5]);
    const [a] = model.predict(z) as tf.Tensor[];
    const [b] = loaded.predict(z) as tf.Tensor[];
    expect(a.shape).toEqual([2, 4, 2]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    const means = loaded.getWeights()[1];
    expect(Array.from(means.dataSync())).toEqual([5, 5, -5, 0, 0, 9]);
    tf.dispose([z, a, b]);
  });

  it('call(z, { sizes }) returns [x, mask] through apply', () => {
    const layer = new IidCreation({ featureDim: 2, seed: 1 });
    const z = tf.zeros([2, 3]);
    const [x, mask] = layer.apply(z, { sizes: [1, 2], seed: 3 }) as tf.Tensor[];
    expect(x.shape).toEqual([2, 2, 2]);
    expect(Array.from(mask.dataSync())).toEqual([1, 0, 1, 1]);
    expect(layer.computeOutputShape([null, 3])).toEqual([
      [null, null, 2],
      [null, null],
    ]);
    tf.dispose([z, x, mask]);
  });

  it('rejects bad configs and sizes with typed errors, leaking nothing', async () => {
    expect(() => new IidCreation({ featureDim: 0 })).toThrow(ConfigError);
    const prior = new MixtureOfGaussiansPrior({ numComponents: 2, dim: 4 });
    expect(() => new IidCreation({ featureDim: 3, prior })).toThrow(/prior\.dim \(4\).*featureDim \(3\)/);
    expect(() => new IidCreation({ featureDim: 3, prior: 'uniform' as any })).toThrow(ConfigError);
    const layer = new IidCreation({ featureDim: 3, seed: 1 });
    const z = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => layer.create(z, [1, 2, 3])).toThrow(ShapeError);
    expect(() => layer.create(z, [1, -2])).toThrow(/sizes\[1\]/);
    expect(() => layer.create(tf.zeros([2]) as any, [1, 2])).toThrow(/z: expected a Tensor2D/);
    expect(() => layer.apply(z)).toThrow(/kwargs\.sizes is required/);
    await expectNoLeak(() => layer.create(z, [1, 2, 3]));
    await expectNoLeak(() => layer.create(z, [1.5, 2]));
    z.dispose();
  });
});
