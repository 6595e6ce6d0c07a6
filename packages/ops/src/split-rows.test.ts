import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { splitRows } from './split-rows.js';

describeBackends('splitRows', () => {
  it('gives the pieces of tf.split along the first axis', () => {
    const x = randomTensor(1, [7, 3, 2]);
    const sizes = [2, 0, 4, 1];
    const ours = splitRows(x, sizes);
    const ref = tf.split(x, sizes, 0);
    expect(ours.map((t) => t.shape)).toEqual(ref.map((t) => t.shape));
    ours.forEach((t, i) => {
      expect(Array.from(t.dataSync())).toEqual(Array.from(ref[i].dataSync()));
    });
    tf.dispose([x, ...ours, ...ref]);
  });

  it('has the gradient of tf.split, also when some pieces are unused', () => {
    const x = randomTensor(2, [6, 4]);
    const w = randomTensor(3, [6, 4]);
    const loss = (pieces: tf.Tensor[]) =>
      tf.add(tf.sum(tf.mul(pieces[0], pieces[0])), tf.sum(tf.exp(pieces[2])));
    const weighted = (t: tf.Tensor) => tf.mul(t, w);
    const ours = tf.grad((t: tf.Tensor) => loss(splitRows(weighted(t), [1, 3, 2])))(x);
    const ref = tf.grad((t: tf.Tensor) => loss(tf.split(weighted(t), [1, 3, 2], 0)))(x);
    expectClose(ours.dataSync(), ref.dataSync(), { rtol: 1e-6, atol: 1e-7 });
    tf.dispose([x, w, ours, ref]);
  });

  it('names sizes that do not add up', async () => {
    const x = tf.zeros([5, 2]);
    expect(() => splitRows(x, [2, 2])).toThrow(ShapeError);
    expect(() => splitRows(x, [2, 2])).toThrow(/sizes \[2,2\] .* first dimension of x \[5,2\]/);
    expect(() => splitRows(x, [6, -1])).toThrow(ShapeError);
    await expectNoLeak(() => splitRows(x, [1.5, 3.5]));
    await expectNoLeak(() => tf.dispose(splitRows(x, [2, 3])));
    x.dispose();
  });
});
