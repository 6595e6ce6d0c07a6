// The FMA (relaxed SIMD) matrix product kernel. This file runs in the vitest project
// `relaxed-simd` (vitest.shared.ts): on Node 20 its workers start with
// --experimental-wasm-relaxed-simd, so the runtime validates relaxed SIMD and the FMA builds
// are the ones selected; every test here checks that they are.
import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, expect, it, vi } from 'vitest';
import { MATMUL_TILE_SHAPES } from './__fixtures__/matmul-shapes.js';
import { matmulKernelVariant, simdBatchMatMul } from './batch-matmul-kernel.js';
import { batchMatMul } from './linalg.js';
import { matmulThreadsForTests as hooks, setMatmulThreads } from './matmul-threads.js';
import { relaxedSimdAvailable, setWasmFma, wasmFmaForTests } from './wasm-fma.js';

const SHAPES = MATMUL_TILE_SHAPES;

/**
 * C = op(A)·op(B) summed on the host in the kernel's order, p = 0..k−1 from 0: with `fused`,
 * each step `fround(a·b + c)` (the product of two float32 is exact in a double: one rounding
 * to float32, as a fused multiply-add); else `fround(c + fround(a·b))`.
 */
function hostProduct(
  a: Float32Array,
  b: Float32Array,
  [batch, n, k, m]: number[],
  transposeA: boolean,
  transposeB: boolean,
  fused: boolean,
): Float32Array {
  const out = new Float32Array(batch * n * m);
  for (let s = 0; s < batch; s++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let c = 0;
        for (let p = 0; p < k; p++) {
          const x = a[s * n * k + (transposeA ? p * n + i : i * k + p)];
          const y = b[s * k * m + (transposeB ? j * k + p : p * m + j)];
          c = fused ? Math.fround(x * y + c) : Math.fround(c + Math.fround(x * y));
        }
        out[(s * n + i) * m + j] = c;
      }
  return out;
}

const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

it('this runtime validates relaxed SIMD here (the project started node with the flag if it needs it)', () => {
  expect(relaxedSimdAvailable()).toBe(true);
});

describeBackends('simdBatchMatMul with fused multiply-adds (relaxed SIMD)', (backend) => {
  afterEach(() => wasmFmaForTests.reset());

  it('selects the FMA kernel', () => {
    expect(backend === 'wasm' || backend === 'cpu').toBe(true);
    expect(matmulKernelVariant()).toBe('fma');
  });

  for (const [transposeA, transposeB] of TRANSPOSES) {
    it(`matches tf.matMul on every tile path, and is the fused sequential sum bit for bit (transposeA ${transposeA}, transposeB ${transposeB})`, () => {
      SHAPES.forEach(([batch, n, k, m], i) => {
        const a = randomTensor(2 * i + 1, transposeA ? [batch, k, n] : [batch, n, k]) as tf.Tensor3D;
        const b = randomTensor(2 * i + 2, transposeB ? [batch, m, k] : [batch, k, m]) as tf.Tensor3D;
        const ours = simdBatchMatMul(a, b, transposeA, transposeB);
        expect(matmulKernelVariant()).toBe('fma');
        const ref = tf.matMul(a, b, transposeA, transposeB);
        expect(ours.shape).toEqual([batch, n, m]);
        expectClose(ours.dataSync(), ref.dataSync(), { rtol: 1e-5, atol: 1e-5 });
        const [va, vb] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array];
        const fused = hostProduct(va, vb, [batch, n, k, m], transposeA, transposeB, true);
        expect(Array.from(ours.dataSync()), `${[batch, n, k, m]}`).toEqual(Array.from(fused));
        tf.dispose([a, b, ours, ref]);
      });
    });
  }

  it('rounds each multiply-add once, where the plain kernel rounds twice', () => {
    // 1·(−(1 + 2⁻¹¹)) + (1 + 2⁻¹²)²: the exact square is 1 + 2⁻¹¹ + 2⁻²⁴, whose float32
    // rounding (a tie, to even) is 1 + 2⁻¹¹: fused 2⁻²⁴, unfused 0. Every tile path: 9×13 of it.
    const [n, m] = [9, 13];
    const e = 1 + 2 ** -12;
    const a = tf.tensor3d(Array.from({ length: n }, () => [1, e]).flat(), [1, n, 2]);
    const b = tf.tensor3d([...Array(m).fill(-(1 + 2 ** -11)), ...Array(m).fill(e)], [1, 2, m]);
    const fused = simdBatchMatMul(a, b, false, false);
    expect(Array.from(fused.dataSync())).toEqual(Array(n * m).fill(2 ** -24));
    setWasmFma(false);
    expect(matmulKernelVariant()).toBe('simd');
    const plain = simdBatchMatMul(a, b, false, false);
    expect(Array.from(plain.dataSync())).toEqual(Array(n * m).fill(0));
    wasmFmaForTests.reset();
    expect(matmulKernelVariant()).toBe('fma');
    tf.dispose([a, b, fused, plain]);
  });

  it('setWasmFma(false) selects the plain kernel: the unfused sequential sum bit for bit', () => {
    setWasmFma(false);
    const [batch, n, k, m] = [2, 13, 9, 31];
    const a = randomTensor(81, [batch, n, k]) as tf.Tensor3D;
    const b = randomTensor(82, [batch, k, m]) as tf.Tensor3D;
    const c = simdBatchMatMul(a, b, false, false);
    expect(matmulKernelVariant()).toBe('simd');
    const plain = hostProduct(
      a.dataSync() as Float32Array,
      b.dataSync() as Float32Array,
      [batch, n, k, m],
      false,
      false,
      false,
    );
    expect(Array.from(c.dataSync())).toEqual(Array.from(plain));
    tf.dispose([a, b, c]);
  });

  for (const [transposeA, transposeB] of TRANSPOSES) {
    it(`batchMatMul's gradients match tf.matMul's (transposeA ${transposeA}, transposeB ${transposeB})`, () => {
      const [batch, n, k, m] = [3, 9, 7, 13];
      const a = randomTensor(91, transposeA ? [batch, k, n] : [batch, n, k]) as tf.Tensor3D;
      const b = randomTensor(92, transposeB ? [batch, m, k] : [batch, k, m]) as tf.Tensor3D;
      const w = randomTensor(93, [batch, n, m]);
      const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(f(x as tf.Tensor3D, y as tf.Tensor3D), w));
      const before = tf.memory().numTensors;
      const ours = tf.grads(loss((x, y) => batchMatMul(x, y, { transposeA, transposeB })))([a, b]);
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(matmulKernelVariant()).toBe('fma');
      const ref = tf.grads(loss((x, y) => tf.matMul(x, y, transposeA, transposeB)))([a, b]);
      ours.forEach((g, i) => {
        expectClose(g.dataSync(), ref[i].dataSync(), { rtol: 1e-5, atol: 1e-5 });
      });
      tf.dispose([a, b, w, ...ours, ...ref]);
    });
  }

  it('computes in place on the tfjs-wasm heap, bit for bit as the copying FMA kernel on cpu', async () => {
    if (backend !== 'wasm') return;
    const results: number[][][] = [];
    for (const name of ['wasm', 'cpu']) {
      await tf.setBackend(name);
      const values = TRANSPOSES.map(([transposeA, transposeB], i) => {
        const a = randomTensor(40 + i, transposeA ? [3, 17, 9] : [3, 9, 17]) as tf.Tensor3D;
        const b = randomTensor(50 + i, transposeB ? [3, 13, 17] : [3, 17, 13]) as tf.Tensor3D;
        const c = simdBatchMatMul(a, b, transposeA, transposeB);
        const out = Array.from(c.dataSync());
        tf.dispose([a, b, c]);
        return out;
      });
      // a long Aᵀ·B in blocks of 8 rows, summed
      const a = randomTensor(60, [2, 45, 9]) as tf.Tensor3D;
      const b = randomTensor(61, [2, 45, 13]) as tf.Tensor3D;
      const c = simdBatchMatMul(a, b, true, false, undefined, 8);
      values.push(Array.from(c.dataSync()));
      tf.dispose([a, b, c]);
      expect(matmulKernelVariant()).toBe('fma');
      results.push(values);
    }
    await tf.setBackend('wasm');
    results[0].forEach((values, i) => {
      expect(values).toEqual(results[1][i]);
    });
  });

  it('leaks no tensors', async () => {
    const a = randomTensor(21, [3, 5, 4]) as tf.Tensor3D;
    const b = randomTensor(22, [3, 4, 6]) as tf.Tensor3D;
    await expectNoLeak(() => simdBatchMatMul(a, b, false, true).dispose());
    await expectNoLeak(() =>
      tf
        .grads((x: tf.Tensor) => tf.sum(batchMatMul(x, b, { transposeB: true })))([a])[0]
        .dispose(),
    );
    tf.dispose([a, b]);
  });
});

/** [shape of a, shape of b, transposeA, transposeB, innerBlock]: each way a product is split. */
const SPLIT_CASES: [number[], number[], boolean, boolean, number][] = [
  [[6, 37, 19], [6, 19, 13], false, false, 512], // batch slices
  [[5, 19, 37], [5, 13, 19], true, true, 512],
  [[1, 150, 33], [1, 33, 27], false, false, 512], // rows of C
  [[1, 33, 150], [1, 33, 27], true, false, 512], // rows of C = columns of A
  [[1, 1300, 21], [1, 1300, 9], true, false, 100], // blocks of a long inner dimension
];

function splitProducts(): number[][] {
  return SPLIT_CASES.map(([sa, sb, ta, tb, block], i) =>
    tf.tidy(() => {
      const a = randomTensor(3 * i + 1, sa) as tf.Tensor3D;
      const b = randomTensor(3 * i + 2, sb) as tf.Tensor3D;
      return Array.from(simdBatchMatMul(a, b, ta, tb, undefined, block).dataSync());
    }),
  );
}

describeBackends('FMA products on worker threads', () => {
  const defaultIntensity = hooks.minIntensity;
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(async () => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    setMatmulThreads(2, { minMultiplyAdds: 0, timeoutMs: 10_000 });
    hooks.minIntensity = 0;
    await hooks.whenReady();
  });
  afterEach(() => {
    hooks.noStealing = false;
    hooks.minIntensity = defaultIntensity;
    wasmFmaForTests.reset();
    warn.mockRestore();
  });
  afterAll(() => setMatmulThreads('auto'));

  it('the workers run the FMA build: bit-identical to one thread, each way a product is split', () => {
    expect(hooks.pool()?.variant).toBe('fma');
    hooks.disabled = true;
    const reference = splitProducts();
    hooks.disabled = false;
    hooks.noStealing = true; // the workers compute their whole region
    const threaded = splitProducts();
    expect(hooks.pool()?.variant).toBe('fma');
    expect(hooks.pool()?.workerChunks).toBeGreaterThan(SPLIT_CASES.length);
    threaded.forEach((values, i) => {
      expect(values).toEqual(reference[i]);
    });
    expect(warn).not.toHaveBeenCalled();
  });

  it('switching FMA off replaces the pool by one running the plain build (still bit-identical)', async () => {
    setWasmFma(false);
    hooks.disabled = true;
    const reference = splitProducts();
    hooks.disabled = false;
    splitProducts(); // closes the FMA pool, starts a plain one
    await hooks.whenReady();
    expect(hooks.pool()?.variant).toBe('simd');
    hooks.noStealing = true;
    const threaded = splitProducts();
    expect(hooks.pool()?.workerChunks).toBeGreaterThan(SPLIT_CASES.length);
    threaded.forEach((values, i) => {
      expect(values).toEqual(reference[i]);
    });
    expect(warn).not.toHaveBeenCalled();
  });
}, ['wasm']);
