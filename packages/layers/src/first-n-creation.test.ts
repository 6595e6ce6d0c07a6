import { ConfigError, ShapeError } from '@setgen/ops';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { FirstNCreation, firstNCreation } from './first-n-creation.js';

describeBackends('FirstNCreation', () => {
  it('gives every set the first n learned points, whatever z, zero at padding', () => {
    const layer = firstNCreation({ maxSize: 4, featureDim: 2, seed: 1 });
    const z = tf.randomNormal([3, 5], 0, 1, 'float32', 2) as tf.Tensor2D;
    const { x, mask } = layer.create(z, [4, 2, 0]);
    expect(x.shape).toEqual([3, 4, 2]);
    expect(Array.from(mask!.dataSync())).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    const points = layer.getWeights()[0].arraySync() as number[][];
    const v = x.arraySync();
    expect(v[0]).toEqual(points);
    expect(v[1].slice(0, 2)).toEqual(points.slice(0, 2));
    expect([...v[1].slice(2), ...v[2]].flat().every((e) => e === 0)).toBe(true);
    // sizes as a Tensor1D
    const sizes = tf.tensor1d([4, 2, 0], 'int32');
    const again = layer.create(z, sizes);
    expect(Array.from(again.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(() => layer.create(z, tf.tensor2d([[1, 2, 3]]) as any)).toThrow(
      /sizes: expected a Tensor1D \[3\]/,
    );
    tf.dispose([z, x, mask!, sizes, again.x, again.mask!]);
  });

  it('trains its points (only the used ones get gradient) without leaking', () => {
    const layer = firstNCreation({ maxSize: 3, featureDim: 2, seed: 1 });
    const z = tf.zeros([2, 1]) as tf.Tensor2D;
    tf.dispose(Object.values(layer.create(z, [1, 1])));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.create(z, [2, 1]).x) as tf.Scalar);
    expect(Array.from(Object.values(grads)[0].dataSync())).toEqual([2, 2, 1, 1, 0, 0]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    z.dispose();
  });

  it('round-trips through getConfig + setWeights and apply returns [x, mask]', () => {
    const layer = new FirstNCreation({ maxSize: 3, featureDim: 2, seed: 4 });
    const z = tf.zeros([2, 1]);
    const [x, mask] = layer.apply(z) as tf.Tensor[];
    const copy = new FirstNCreation(layer.getConfig() as any);
    const [y, yMask] = copy.apply(z, { sizes: [3, 3] }) as tf.Tensor[];
    copy.setWeights(layer.getWeights());
    const [w] = copy.apply(z, { sizes: [3, 3] }) as tf.Tensor[];
    expect(Array.from(w.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(mask.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    tf.dispose([z, x, mask, y, yMask, w]);
  });

  it('fails clearly beyond maxSize and on bad configs, leaking nothing', async () => {
    expect(() => firstNCreation({ maxSize: 0, featureDim: 2 })).toThrow(ConfigError);
    const layer = firstNCreation({ maxSize: 3, featureDim: 2 });
    const z = tf.zeros([2, 1]) as tf.Tensor2D;
    expect(() => layer.create(z, [4, 1])).toThrow(ShapeError);
    expect(() => layer.create(z, [1, 4])).toThrow(/sizes\[1\]: 4 exceeds maxSize = 3/);
    await expectNoLeak(() => layer.create(z, [4, 1]));
    z.dispose();
  });
});
