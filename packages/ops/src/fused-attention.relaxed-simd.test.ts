// The fused attention kernel's FMA build (relaxed SIMD). This file runs in the vitest project
// `relaxed-simd` (vitest.shared.ts), whose workers validate relaxed SIMD: it checks that the FMA
// build is the one selected, then runs every test of fused-attention.test.ts with it (the float64
// definition on every shape path and mask, chunked copies, in place vs copying, no leaks).
import { describeBackends, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { fusedAttentionVariant, fusedSoftmaxAttention } from './fused-attention.js';
import { setWasmFma, wasmFmaForTests } from './wasm-fma.js';
import './fused-attention.test.js';

describeBackends('fusedSoftmaxAttention with fused multiply-adds', () => {
  afterEach(() => wasmFmaForTests.reset());

  it('selects the FMA build, which differs from the plain one only at float32 rounding', () => {
    expect(fusedAttentionVariant()).toBe('fma');
    const q = randomTensor(1, [3, 11, 32], 2) as tf.Tensor3D;
    const k = randomTensor(2, [3, 40, 32], 2) as tf.Tensor3D;
    const v = randomTensor(3, [3, 40, 32]) as tf.Tensor3D;
    const fused = fusedSoftmaxAttention(q, k, v, { numHeads: 2, scale: 0.25 });
    setWasmFma(false);
    expect(fusedAttentionVariant()).toBe('simd');
    const plain = fusedSoftmaxAttention(q, k, v, { numHeads: 2, scale: 0.25 });
    const [a, b] = [fused.dataSync(), plain.dataSync()];
    expect(Array.from(a).some((x, i) => x !== b[i])).toBe(true); // another computation
    expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])))).toBeLessThan(1e-6);
    tf.dispose([q, k, v, fused, plain]);
  });
});
