import { readFileSync } from 'node:fs';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  prefixMask,
  randomTensor,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { assembleMaskedSoftmax, maskedSoftmaxModuleSource } from '../wasm/build.mjs';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { FUSED_SOFTMAX_FLAG, fusedSoftmaxAvailable, maskedSoftmax } from './masked-softmax.js';

/** The definition in float64: softmax over the valid keys, zeros at padded keys, padded queries and empty rows. */
function reference(
  x: ArrayLike<number>,
  km: number[] | null,
  qm: number[] | null,
  [c, nq, nk]: number[],
  scale = 1,
) {
  const out = new Float64Array(c * nq * nk);
  for (let s = 0; s < c; s++)
    for (let i = 0; i < nq; i++) {
      if (qm && !(qm[s * nq + i] > 0.5)) continue;
      const valid = Array.from({ length: nk }, (_, j) => !km || km[s * nk + j] > 0.5);
      const row = (s * nq + i) * nk;
      const max = Math.max(...Array.from({ length: nk }, (_, j) => (valid[j] ? x[row + j] : -Infinity)));
      if (max === -Infinity) continue;
      const e = Array.from({ length: nk }, (_, j) => (valid[j] ? Math.exp(scale * (x[row + j] - max)) : 0));
      const total = e.reduce((a, b) => a + b, 0);
      e.forEach((v, j) => {
        out[row + j] = v / total;
      });
    }
  return out;
}

/** Key sizes per set (0: an empty set) and the masks they give. */
function masks(c: number, nq: number, nk: number, seed: number) {
  const sizes = (n: number, k: number) => Array.from({ length: c }, (_, s) => (s * 7 + k + seed) % (n + 1));
  return { keyMask: prefixMask(sizes(nk, 3), nk), queryMask: prefixMask(sizes(nq, 1), nq) };
}

afterEach(() => {
  tf.env().set(FUSED_SOFTMAX_FLAG, true);
});

describeBackends('maskedSoftmax', (backend) => {
  it('is the softmax over the valid keys, zeros at padding and in empty rows; NaN in padded logits stays out (fused)', () => {
    expect(fusedSoftmaxAvailable(), `${backend}: the fused kernel compiles`).toBe(true);
    // key counts that use the vector loop, the scalar tail and both
    for (const [c, nq, nk] of [
      [3, 2, 1],
      [4, 3, 3],
      [5, 4, 4],
      [6, 5, 9],
      [4, 9, 17],
    ]) {
      const logits = randomTensor(c * 100 + nk, [c, nq, nk], 4) as tf.Tensor3D;
      const { keyMask, queryMask } = masks(c, nq, nk, nk);
      const [km, qm] = [keyMask, queryMask].map((m) => Array.from(m.dataSync()));
      // padded keys' logits: NaN (the kernel never reads them)
      const poisoned = tf.tidy(() =>
        tf.where(tf.greater(tf.expandDims(keyMask, 1), 0.5), logits, tf.fill(logits.shape, Number.NaN)),
      ) as tf.Tensor3D;
      for (const [kmT, qmT, kmA, qmA] of [
        [null, null, null, null],
        [keyMask, null, km, null],
        [null, queryMask, null, qm],
        [keyMask, queryMask, km, qm],
      ] as const) {
        const input = kmT ? poisoned : logits;
        for (const scale of [1, 0.25]) {
          const out = maskedSoftmax(input, kmT, qmT, scale);
          expect(out.shape).toEqual([c, nq, nk]);
          const ref = reference(logits.dataSync(), kmA, qmA, [c, nq, nk], scale);
          expectClose(out.dataSync(), ref, { rtol: 1e-5, atol: 1e-7 });
          // exact zeros where the definition has them
          const values = out.dataSync();
          ref.forEach((v, i) => {
            if (v === 0) expect(values[i], `element ${i}`).toBe(0);
          });
          out.dispose();
        }
      }
      tf.dispose([logits, poisoned, keyMask, queryMask]);
    }
  });

  it('fused and composed (tfjs ops) agree, forward and backward', () => {
    const [c, nq, nk] = [6, 7, 13];
    const logits = randomTensor(21, [c, nq, nk], 3) as tf.Tensor3D;
    const dy = randomTensor(22, [c, nq, nk]);
    const { keyMask, queryMask } = masks(c, nq, nk, 2);
    const run = () => {
      const f = (x: tf.Tensor) =>
        tf.sum(tf.mul(maskedSoftmax(x as tf.Tensor3D, keyMask, queryMask, 0.3), dy));
      const { value, grad } = tf.valueAndGrad(f)(logits);
      const y = maskedSoftmax(logits, keyMask, queryMask, 0.3);
      const result = [Array.from(y.dataSync()), Array.from(grad.dataSync()), value.dataSync()[0]] as const;
      tf.dispose([value, grad, y]);
      return result;
    };
    const fused = run();
    tf.env().set(FUSED_SOFTMAX_FLAG, false);
    const composed = run();
    expectClose(fused[0], composed[0], { rtol: 1e-5, atol: 1e-7 });
    expectClose(fused[1], composed[1], { rtol: 1e-4, atol: 1e-6 });
    expectClose(fused[2], composed[2], { rtol: 1e-5 });
    tf.dispose([logits, dy, keyMask, queryMask]);
  });

  it('has the gradient of its definition (finite differences) and a second derivative', () => {
    const [c, nq, nk] = [2, 3, 5];
    const logits = randomTensor(31, [c, nq, nk], 2) as tf.Tensor3D;
    const weight = randomTensor(32, [c, nq, nk]);
    const { keyMask, queryMask } = masks(c, nq, nk, 4);
    const f = (x: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(maskedSoftmax(x as tf.Tensor3D, keyMask, queryMask, 0.7)), weight));
    const grad = tf.grad(f)(logits);
    expectClose(grad.dataSync(), finiteDifferenceGradient(f as (x: tf.Tensor) => tf.Scalar, logits), {
      rtol: 2e-2,
      atol: 2e-3,
    });
    // d/dx Σ (∂f/∂x)²: through the backward (composed ops under a recording tape)
    const g2 = tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.grad(f)(x))))(logits);
    const fd2 = finiteDifferenceGradient(
      (x) => tf.tidy(() => tf.sum(tf.square(tf.grad(f)(x)))) as tf.Scalar,
      logits,
    );
    expectClose(g2.dataSync(), fd2, { rtol: 5e-2, atol: 5e-3 });
    tf.dispose([logits, weight, keyMask, queryMask, grad, g2]);
  });

  it('leaves no tensor behind, in a training-like step and in failed calls, with typed errors', async () => {
    const logits = randomTensor(41, [2, 3, 4]) as tf.Tensor3D;
    const { keyMask, queryMask } = masks(2, 3, 4, 1);
    await expectNoLeak(() => {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
        tf.sum(maskedSoftmax(x as tf.Tensor3D, keyMask, queryMask)),
      )(logits);
      tf.dispose([value, grad]);
    });
    const ints = tf.zeros([2, 3, 4], 'int32') as tf.Tensor3D;
    const flat = tf.zeros([2, 3]) as unknown as tf.Tensor3D;
    await expectNoLeak(() => {
      expect(() => maskedSoftmax(logits, queryMask, null)).toThrow(ShapeError); // [2, 3] is not [2, 4]
      expect(() => maskedSoftmax(logits, null, keyMask)).toThrow(/queryMask must be \[2, 3\]/);
      expect(() => maskedSoftmax(flat, null, null)).toThrow(/logits must be \[C, Nq, Nk\]/);
      expect(() => maskedSoftmax(ints, null, null)).toThrow(DataError);
      expect(() => maskedSoftmax(logits, null, null, 0)).toThrow(ConfigError);
      expect(() => maskedSoftmax(logits, null, null, Number.NaN)).toThrow(
        /scale must be a positive finite number/,
      );
    });
    tf.dispose([logits, keyMask, queryMask, ints, flat]);
  });
});

it('src/masked-softmax-wasm.ts is what wasm/masked-softmax.wat.mjs assembles to', async () => {
  const source = maskedSoftmaxModuleSource(
    await assembleMaskedSoftmax(),
    await assembleMaskedSoftmax({ importMemory: true }),
  );
  expect(readFileSync(new URL('./masked-softmax-wasm.ts', import.meta.url), 'utf8')).toBe(source);
});
