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

  it('a first-order gradient inside saves without an Identity dispatch; the same gradients', async () => {
    const x = randomTensor(4, [3, 4]);
    const y = randomTensor(5, [3, 4]);
    // plain ops (Mul and Square save their inputs through the engine) and the custom op above
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.add(tf.sum(tf.square(tf.mul(a, b))), tf.sum(product(a, b)));
    const identities = async (run: () => tf.Tensor[]) => {
      let grads: tf.Tensor[] = [];
      const info = await tf.profile(() => {
        grads = run();
        return grads;
      });
      const values = grads.map((g) => Array.from(g.dataSync()));
      tf.dispose(grads);
      return { count: info.kernels.filter((k) => k.name === 'Identity').length, values };
    };
    const outside = await identities(() => tf.grads(f)([x, y]));
    const inside = await identities(() => withSharedClones(() => tf.grads(f)([x, y])));
    expect(outside.count).toBeGreaterThanOrEqual(4); // the engine's saves are clones there
    expect(inside.count).toBe(0);
    expect(inside.values).toEqual(outside.values);
    await expectNoLeak(() => tf.dispose(withSharedClones(() => tf.grads(f)([x, y]))));
    tf.dispose([x, y]);
  });

  it('gradients of gradients (nested tapes) flow through saved tensors as outside', async () => {
    const x = randomTensor(6, [5]);
    const y = randomTensor(7, [5]);
    // d/dx Σ x³·y = 3x²·y, and d/dx of Σ 3x²·y = 6x·y: the inner gradient's saved x must carry it
    const inner = (a: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.mul(a, a), a), y));
    const second = () => tf.grad((a: tf.Tensor) => tf.sum(tf.grad(inner)(a)))(x);
    const outside = second();
    const inside = withSharedClones(second);
    const expected = tf.tidy(() => tf.mul(tf.mul(x, y), 6));
    expect(Array.from(inside.dataSync())).toEqual(Array.from(outside.dataSync()));
    const got = inside.dataSync();
    for (const [i, v] of expected.dataSync().entries()) expect(got[i]).toBeCloseTo(v, 4);
    await expectNoLeak(() => tf.dispose(withSharedClones(second)));
    tf.dispose([x, y, outside, inside, expected]);
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
