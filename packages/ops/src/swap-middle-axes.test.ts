import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { assembleSwapAxes, swapAxesModuleSource } from '../wasm/build.mjs';
import { ShapeError } from './errors.js';
import { swapMiddleAxes } from './swap-middle-axes.js';

/** What the op replaces: reshape, transpose, reshape. */
function reference(x: tf.Tensor, view: number[], outShape: number[]): tf.Tensor {
  return tf.reshape(tf.transpose(tf.reshape(x, view), [0, 2, 1, 3]), outShape);
}

describeBackends('swapMiddleAxes', () => {
  const cases: [string, number[], number[], number[]][] = [
    ['split heads [2,5,3·4] → [2·3,5,4]', [2, 5, 12], [2, 5, 3, 4], [6, 5, 4]],
    ['merge heads [2·3,5,4] → [2,5,3·4]', [6, 5, 4], [2, 3, 5, 4], [2, 5, 12]],
    ['one head (a no-op permutation)', [2, 5, 4], [2, 5, 1, 4], [2, 5, 4]],
    ['one element per set', [3, 1, 8], [3, 1, 2, 4], [6, 1, 4]],
    ['rows of 7 floats (three one at a time, then a vector)', [2, 3, 14], [2, 3, 2, 7], [4, 3, 7]],
    ['rows of 1 float (a plain transpose)', [2, 3, 5], [2, 3, 5, 1], [2, 5, 3]],
    ['attention heads of 16 (the one-shot VAE)', [4, 9, 64], [4, 9, 4, 16], [16, 9, 16]],
  ];
  for (const [name, shape, view, outShape] of cases) {
    it(`is reshape · transpose · reshape in value and in the first and second derivative (${name})`, async () => {
      const x = randomTensor(1, shape);
      const w = randomTensor(2, outShape);
      const value = swapMiddleAxes(x, view, outShape);
      expect(value.shape).toEqual(outShape);
      expect(Array.from(value.dataSync())).toEqual(Array.from(reference(x, view, outShape).dataSync()));
      // first derivative of Σ w ⊙ op(x)² (so the second derivative depends on x)
      const loss = (op: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(tf.square(op(t)), w));
      const ours = (t: tf.Tensor) => swapMiddleAxes(t, view, outShape);
      const ref = (t: tf.Tensor) => reference(t, view, outShape);
      const [g, gRef] = [tf.grad(loss(ours))(x), tf.grad(loss(ref))(x)];
      expect(g.shape).toEqual(shape);
      expectClose(g.dataSync(), gRef.dataSync(), { rtol: 1e-6 });
      // second: d/dx of Σ v ⊙ grad(x)
      const v = randomTensor(3, shape);
      const second = (op: (t: tf.Tensor) => tf.Tensor) =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss(op))(t), v)))(x);
      const [h, hRef] = [second(ours), second(ref)];
      expectClose(h.dataSync(), hRef.dataSync(), { rtol: 1e-5, atol: 1e-6 });
      await expectNoLeak(() => tf.dispose(tf.grad(loss(ours))(x)));
      tf.dispose([x, w, v, value, g, gRef, h, hRef]);
    });
  }

  it('is one kernel in each pass on wasm and cpu', async () => {
    const x = randomTensor(4, [2, 5, 12]);
    const dy = randomTensor(5, [6, 5, 4]);
    const info = await tf.profile(() =>
      tf.grad((t: tf.Tensor) => swapMiddleAxes(t, [2, 5, 3, 4], [6, 5, 4]))(x, dy),
    );
    if (['wasm', 'cpu'].includes(tf.getBackend())) {
      expect(info.kernels.map((k) => k.name)).toEqual(['SetgenSwapMiddleAxes', 'SetgenSwapMiddleAxes']);
    }
    tf.dispose([x, dy, info.result as tf.Tensor]);
  });

  it('moves int32 values and leaves its input unchanged', () => {
    const x = tf.tensor3d(
      Array.from({ length: 2 * 3 * 10 }, (_, i) => i - 7),
      [2, 3, 10],
      'int32',
    );
    const before = Array.from(x.dataSync());
    const y = swapMiddleAxes(x, [2, 3, 2, 5], [4, 3, 5]);
    const expected = reference(x, [2, 3, 2, 5], [4, 3, 5]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
    expect(Array.from(x.dataSync())).toEqual(before);
    tf.dispose([x, y, expected]);
  });

  it('names a view or output that does not fit x', async () => {
    const x = tf.zeros([2, 5, 12]);
    expect(() => swapMiddleAxes(x, [2, 5, 3, 3], [6, 5, 4])).toThrow(ShapeError);
    expect(() => swapMiddleAxes(x, [2, 5, 12], [2, 5, 12])).toThrow(/view \[2,5,12\] \(expected 4 axes\)/);
    expect(() => swapMiddleAxes(x, [2, 5, 3, 4], [6, 5, 5])).toThrow(/must have the size of x \[2,5,12\]/);
    await expectNoLeak(() => swapMiddleAxes(x, [2, 5, 3, 3]));
    x.dispose();
  });
});

it('src/swap-axes-wasm.ts is what wasm/swap-axes.wat.mjs assembles to', async () => {
  const { readFileSync } = await import('node:fs');
  const source = swapAxesModuleSource(
    await assembleSwapAxes(),
    await assembleSwapAxes({ importMemory: true }),
  );
  expect(readFileSync(new URL('./swap-axes-wasm.ts', import.meta.url), 'utf8')).toBe(source);
});
