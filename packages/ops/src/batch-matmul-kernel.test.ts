import { readFileSync } from 'node:fs';
import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { assembleAll, moduleSource } from '../wasm/build.mjs';
import { MATMUL_TILE_SHAPES } from './__fixtures__/matmul-shapes.js';
import { tensorMemory } from './backend-memory.js';
import { simdBatchMatMul, simdBatchMatMulAvailable } from './batch-matmul-kernel.js';

const SHAPES = MATMUL_TILE_SHAPES;

describeBackends('simdBatchMatMul', (backend) => {
  it('is available on the wasm and cpu backends', () => {
    expect(backend === 'wasm' || backend === 'cpu').toBe(true);
    expect(simdBatchMatMulAvailable()).toBe(true);
  });

  it('handles an output that makes the backend grow its memory', () => {
    // 32 MB out of two tiny inputs: on wasm the output's allocation grows the heap
    const a = randomTensor(31, [1, 2048, 1]) as tf.Tensor3D;
    const b = randomTensor(32, [1, 1, 4096]) as tf.Tensor3D;
    const ours = simdBatchMatMul(a, b, false, false);
    const ref = tf.matMul(a, b);
    expectClose(ours.dataSync(), ref.dataSync(), { rtol: 1e-6, atol: 0 });
    tf.dispose([a, b, ours, ref]);
  });

  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      it(`matches tf.matMul for every tile shape (transposeA ${transposeA}, transposeB ${transposeB})`, () => {
        SHAPES.forEach(([batch, n, k, m], i) => {
          const a = randomTensor(2 * i + 1, transposeA ? [batch, k, n] : [batch, n, k]) as tf.Tensor3D;
          const b = randomTensor(2 * i + 2, transposeB ? [batch, m, k] : [batch, k, m]) as tf.Tensor3D;
          const ours = simdBatchMatMul(a, b, transposeA, transposeB);
          const ref = tf.matMul(a, b, transposeA, transposeB);
          expect(ours.shape).toEqual([batch, n, m]);
          expectClose(ours.dataSync(), ref.dataSync(), { rtol: 1e-5, atol: 1e-5 });
          tf.dispose([a, b, ours, ref]);
        });
      });
    }
  }

  it('gives the same result when the batch is copied in chunks of one slice or several', () => {
    const a = randomTensor(11, [7, 20, 12]) as tf.Tensor3D;
    const b = randomTensor(12, [7, 9, 12]) as tf.Tensor3D;
    const whole = simdBatchMatMul(a, b, false, true);
    // one slice needs (240 + 2·108 + 180)·4 bytes: chunks of 1 and of 3 slices
    for (const chunkBytes of [1, 3 * 636 * 4]) {
      const chunked = simdBatchMatMul(a, b, false, true, chunkBytes);
      expect(Array.from(chunked.dataSync())).toEqual(Array.from(whole.dataSync()));
      chunked.dispose();
    }
    tf.dispose([a, b, whole]);
  });

  it('computes in place on the tfjs-wasm heap, bit for bit as the copying kernel on cpu', async () => {
    if (backend !== 'wasm') return;
    expect(tensorMemory('wasm')?.heap?.(tf.backend())).toBeTruthy();
    const results: Float32Array[][] = [];
    for (const name of ['wasm', 'cpu']) {
      await tf.setBackend(name);
      results.push(
        [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ].map(([transposeA, transposeB], i) => {
          const a = randomTensor(40 + i, transposeA ? [3, 17, 9] : [3, 9, 17]) as tf.Tensor3D;
          const b = randomTensor(50 + i, transposeB ? [3, 13, 17] : [3, 17, 13]) as tf.Tensor3D;
          const c = simdBatchMatMul(a, b, transposeA, transposeB);
          const values = c.dataSync() as Float32Array;
          tf.dispose([a, b, c]);
          return values;
        }),
      );
      // a long Aᵀ·B in blocks of 8 rows, summed
      const a = randomTensor(60, [2, 45, 9]) as tf.Tensor3D;
      const b = randomTensor(61, [2, 45, 13]) as tf.Tensor3D;
      const c = simdBatchMatMul(a, b, true, false, undefined, 8);
      results[results.length - 1].push(c.dataSync() as Float32Array);
      tf.dispose([a, b, c]);
    }
    await tf.setBackend('wasm');
    results[0].forEach((values, i) => {
      expect(Array.from(values)).toEqual(Array.from(results[1][i]));
    });
  });

  it('Aᵀ·B with a long inner dimension: blocks of rows summed give the whole product', () => {
    const a = randomTensor(41, [2, 45, 9]) as tf.Tensor3D;
    const b = randomTensor(42, [2, 45, 13]) as tf.Tensor3D;
    const ref = tf.matMul(a, b, true, false);
    // blocks of 8 → 6 blocks of 8 rows (the last 5); of 45 and more → one block (no blocking)
    for (const innerBlock of [8, 44, 45]) {
      const ours = simdBatchMatMul(a, b, true, false, undefined, innerBlock);
      expectClose(ours.dataSync(), ref.dataSync(), { rtol: 1e-5, atol: 1e-5 });
      ours.dispose();
    }
    tf.dispose([a, b, ref]);
  });

  it('leaks no tensors', async () => {
    const a = randomTensor(21, [3, 5, 4]) as tf.Tensor3D;
    const b = randomTensor(22, [3, 4, 6]) as tf.Tensor3D;
    await expectNoLeak(() => simdBatchMatMul(a, b, false, true).dispose());
    tf.dispose([a, b]);
  });
});

it('the committed kernels (plain and FMA) are the ones the WebAssembly source assembles to', async () => {
  const committed = readFileSync(new URL('./batch-matmul-wasm.ts', import.meta.url), 'utf8');
  const [simd, fma] = await assembleAll();
  expect(committed).toBe(moduleSource(simd, fma));
});
