// `withSharedClones` (shared-clones.ts) lets a tensor saved for the backward pass share its
// data with the tensor it was saved from. That is only safe while no kernel writes into an
// input. This guard runs every kernel @setgen registers (through its public op, forward and
// backward, on every path we know: transposes, in-place products, blocked Aᵀ·B, chunked
// attention, residual or not, masked softmax, Adam) and checks that every input still holds its bytes afterwards.
import { describeBackends, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { adamUpdates } from './adam-update.js';
import { tensorMemory } from './backend-memory.js';
import { fusedAttentionAvailable, fusedSoftmaxAttention } from './fused-attention.js';
import { fusedAddLayerNorm, fusedLayerNormAvailable } from './fused-layer-norm.js';
import { batchMatMul } from './linalg.js';
import { fusedSoftmaxAvailable, maskedSoftmax } from './masked-softmax.js';
import { splitRows } from './split-rows.js';
import { swapMiddleAxes } from './swap-middle-axes.js';
import { zeroPadding } from './zero-padding.js';

/** Runs `f` and expects each of `inputs` to hold the same bytes as before (NaN bit patterns included). */
function expectInputsUnchanged(inputs: tf.Tensor[], f: () => tf.Tensor | tf.Tensor[]): void {
  const before = inputs.map((t) => new Uint8Array(new Float32Array(t.dataSync()).buffer).slice());
  const outputs = f();
  // force every result to be computed before the inputs are read again
  for (const out of Array.isArray(outputs) ? outputs : [outputs]) out.dataSync();
  inputs.forEach((t, i) => {
    const after = new Uint8Array(new Float32Array(t.dataSync()).buffer);
    expect(Buffer.from(after).equals(Buffer.from(before[i])), `input ${i} ${t.shape} changed`).toBe(true);
  });
  tf.dispose(outputs);
}

describeBackends('no @setgen kernel writes into its inputs', (backend) => {
  it('the guard itself sees a write into an input', () => {
    const x = randomTensor(11, [4, 3]);
    const memory = tensorMemory(backend)!;
    const kernelBackend = tf.engine().backend;
    expect(() =>
      expectInputsUnchanged([x], () => {
        memory.read(kernelBackend, x)[5] += 1; // what a kernel writing in place would do
        return tf.add(x, 1);
      }),
    ).toThrow(/changed/);
    tf.dispose(x);
  });

  it('batchMatMul, both passes, all transposes, shared and blocked operands', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 9], false, false],
      [[3, 6, 5], [5, 8], false, false],
      [[3, 6, 5], [3, 8, 5], false, true],
      [[3, 5, 6], [3, 5, 8], true, false],
      [[2, 5, 6], [2, 8, 5], true, true],
      [[1100, 12], [1100, 8], true, false], // a long inner dimension: blocks of 512 rows
    ];
    cases.forEach(([sa, sb, transposeA, transposeB], i) => {
      const a = randomTensor(10 + i, sa);
      const b = randomTensor(20 + i, sb);
      expectInputsUnchanged([a, b], () => batchMatMul(a, b, { transposeA, transposeB }));
      expectInputsUnchanged([a, b], () =>
        tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(batchMatMul(x, y, { transposeA, transposeB })))([
          a,
          b,
        ]),
      );
      tf.dispose([a, b]);
    });
  });

  it('splitRows and zeroPadding (NaN in the padding), both passes', () => {
    const x = randomTensor(1, [6, 4, 3]);
    expectInputsUnchanged([x], () => splitRows(x, [1, 3, 2]));
    expectInputsUnchanged([x], () =>
      tf.grad((t: tf.Tensor) => tf.addN(splitRows(t, [4, 2]).map((p, k) => tf.mul(tf.sum(p), k + 1))))(x),
    );
    const values = randomTensor(2, [2, 4, 3]).arraySync() as number[][][];
    values[1][3] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NaN];
    const padded = tf.tensor3d(values);
    const mask = tf.tensor2d([
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ]);
    expectInputsUnchanged([padded, mask], () => zeroPadding(padded, mask));
    expectInputsUnchanged([padded, mask], () =>
      tf.grad((t: tf.Tensor) => tf.sum(zeroPadding(t, mask)))(padded),
    );
    tf.dispose([x, padded, mask]);
  });

  it('fusedAddLayerNorm, with and without a residual, both passes', () => {
    if (!fusedLayerNormAvailable()) {
      expect(backend).not.toBe('wasm'); // the kernel exists wherever tensor memory is readable
      return;
    }
    const x = randomTensor(3, [2, 5, 8]);
    const r = randomTensor(4, [2, 5, 8]);
    const gamma = randomTensor(5, [8]);
    const beta = randomTensor(6, [8]);
    for (const residual of [r, null]) {
      const inputs = residual ? [x, residual, gamma, beta] : [x, gamma, beta];
      expectInputsUnchanged(inputs, () => fusedAddLayerNorm(x, residual, gamma, beta, 1e-5));
      expectInputsUnchanged(inputs, () =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(fusedAddLayerNorm(a, residual, g, b, 1e-5))),
        )([x, gamma, beta]),
      );
    }
    tf.dispose([x, r, gamma, beta]);
  });

  it('fusedSoftmaxAttention, masked and chunked', () => {
    if (!fusedAttentionAvailable(8, 2)) {
      expect(backend).not.toBe('wasm');
      return;
    }
    const q = randomTensor(7, [3, 5, 8]) as tf.Tensor3D;
    const k = randomTensor(8, [3, 6, 8]) as tf.Tensor3D;
    const v = randomTensor(9, [3, 6, 8]) as tf.Tensor3D;
    const queryMask = tf.tensor2d([1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1], [3, 5]);
    const keyMask = tf.tensor2d([1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [3, 6]);
    for (const chunkBytes of [undefined, 64]) {
      expectInputsUnchanged([q, k, v, queryMask, keyMask], () =>
        fusedSoftmaxAttention(q, k, v, { numHeads: 2, scale: 0.5, queryMask, keyMask, chunkBytes }),
      );
    }
    tf.dispose([q, k, v, queryMask, keyMask]);
  });

  it('maskedSoftmax, both passes, with and without masks', () => {
    expect(fusedSoftmaxAvailable()).toBe(true);
    const logits = randomTensor(10, [3, 5, 6]) as tf.Tensor3D;
    const queryMask = tf.tensor2d([1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1], [3, 5]);
    const keyMask = tf.tensor2d([1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [3, 6]);
    for (const [km, qm] of [
      [keyMask, queryMask],
      [null, null],
    ] as const) {
      expectInputsUnchanged([logits, keyMask, queryMask], () => maskedSoftmax(logits, km, qm));
      expectInputsUnchanged([logits, keyMask, queryMask], () =>
        tf.grad((x: tf.Tensor) => tf.sum(tf.square(maskedSoftmax(x as tf.Tensor3D, km, qm))))(logits),
      );
    }
    tf.dispose([logits, queryMask, keyMask]);
  });

  it('swapMiddleAxes, both passes', () => {
    const x = randomTensor(60, [2, 5, 12]);
    expectInputsUnchanged([x], () => swapMiddleAxes(x, [2, 5, 3, 4], [6, 5, 4]));
    expectInputsUnchanged([x], () =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.square(swapMiddleAxes(t, [2, 5, 3, 4], [6, 5, 4]))))(x),
    );
    x.dispose();
  });

  it('adamUpdates', () => {
    const operands = [[4, 3], [5]].map((shape, i) => ({
      value: randomTensor(20 + i, shape),
      gradient: randomTensor(30 + i, shape),
      m: randomTensor(40 + i, shape),
      v: tf.abs(randomTensor(50 + i, shape)),
    }));
    const tensors = operands.flatMap((o) => [o.value, o.gradient, o.m, o.v]);
    const constants = {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      learningRate: 0.01,
      accBeta1: 0.81,
      accBeta2: 0.998,
    };
    expectInputsUnchanged(tensors, () => adamUpdates(operands, { ...constants, gradientScale: 0.5 }).flat());
    tf.dispose(tensors);
  });
});
