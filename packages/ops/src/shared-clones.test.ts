import { describeBackends, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { saveShared, withSharedClones } from './shared-clones.js';

/** Σ x·y·x with a custom gradient that saves x and y through `saveShared`. */
const product = tf.customGrad(((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
  saveShared(save, [x, y]);
  return {
    value: tf.mul(tf.mul(x, y), x),
    gradFunc: (dz: tf.Tensor, [sx, sy]: tf.Tensor[]) => [
      tf.mul(dz, tf.mul(tf.mul(sx, sy), 2)),
      tf.mul(dz, tf.square(sx)),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

describeBackends('withSharedClones', (backend) => {
  it('clones share their data inside and copy again afterwards (wasm), same values everywhere', () => {
    const x = randomTensor(1, [3, 4]);
    const expected = Array.from(x.dataSync());
    const identity = tf.getKernel('Identity', backend);
    const inside = withSharedClones(() => tf.clone(x));
    const outside = tf.clone(x);
    // shared: the same data (tfjs-cpu always shares; tfjs-wasm copies outside the scope)
    expect(inside.dataId).toBe(x.dataId);
    if (backend === 'wasm') expect(outside.dataId).not.toBe(x.dataId);
    // the registered kernel is the backend's own again
    expect(tf.getKernel('Identity', backend)).toBe(identity);
    x.dispose();
    // the shared clone outlives the tensor it was made from
    expect(Array.from(inside.dataSync())).toEqual(expected);
    expect(Array.from(outside.dataSync())).toEqual(expected);
    const bytes = tf.memory().numBytes;
    inside.dispose();
    outside.dispose();
    expect(tf.memory().numBytes).toBe(bytes - 2 * 12 * 4);
  });

  it('puts the kernel back when the function throws, and nests', () => {
    const identity = tf.getKernel('Identity', backend);
    expect(() =>
      withSharedClones(() =>
        withSharedClones(() => {
          throw new Error('inner');
        }),
      ),
    ).toThrow('inner');
    expect(tf.getKernel('Identity', backend)).toBe(identity);
  });

  it('gives the same gradients as copied saves, and leaks nothing', async () => {
    const x = randomTensor(2, [2, 5]);
    const y = randomTensor(3, [2, 5]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(product(a, b));
    const [dx, dy] = tf.grads(f)([x, y]);
    const [ex, ey] = tf.tidy(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.mul(a, b), a)))([x, y]),
    );
    expect(Array.from(dx.dataSync())).toEqual(Array.from(ex.dataSync()));
    expect(Array.from(dy.dataSync())).toEqual(Array.from(ey.dataSync()));
    await expectNoLeak(() => tf.dispose(tf.grads(f)([x, y])));
    await expectNoLeak(() => tf.dispose(withSharedClones(() => tf.grads(f)([x, y]))));
    tf.dispose([x, y, dx, dy, ex, ey]);
  });
});
