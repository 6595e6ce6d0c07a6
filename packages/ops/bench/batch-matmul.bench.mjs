// batchMatMul (our SIMD kernel on wasm/cpu) against tf.matMul on the same backend, on the
// products of a SetVAE step (B·H = 256 attention slices of 150 points, 16 features per head;
// dense layers over 9600 rows) and of a large-set MAB. Each case prints two lines: the name
// for batchMatMul and `<name>_tfjs` for tf.matMul with the same flags. Both backends run
// kernels synchronously, so the product is timed without reading it back.
// Build first: `pnpm exec tsc -b`. Run: `node bench/batch-matmul.bench.mjs [--backends wasm,cpu]`.
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { batchMatMul, matmulKernelVariant } from '../dist/internal.js';

const CASES = [
  // name, a, b, transposeA, transposeB
  ['bmm_attention_scores_256x150x16x32', [256, 150, 16], [256, 32, 16], false, true],
  ['bmm_attention_values_256x150x32x16', [256, 150, 32], [256, 32, 16], false, false],
  ['bmm_attention_grad_256x32x150x16', [256, 150, 32], [256, 150, 16], true, false],
  ['bmm_dense_weight_grad_9600x64x64', [9600, 64], [9600, 64], true, false],
  ['bmm_dense_9600x64x64', [9600, 64], [64, 64], false, false],
  ['bmm_large_slices_16x2048x64x2048', [16, 2048, 64], [16, 64, 2048], false, false],
];

for (const backend of backendsFromArgs(['wasm'])) {
  await useBackend(backend);
  for (const [name, sa, sb, transposeA, transposeB] of CASES) {
    if (backend === 'cpu' && name.startsWith('bmm_large')) continue; // minutes per call on cpu
    const a = tf.randomNormal(sa);
    const b = tf.randomNormal(sb);
    const runs = backend === 'cpu' ? 3 : 10;
    // matmul_kernel: 'fma' (relaxed SIMD: Node ≥ 22, or node --experimental-wasm-relaxed-simd) or 'simd'
    const extra = { a: sa, b: sb, transposeA, transposeB, matmul_kernel: matmulKernelVariant() };
    const ours = await bench(name, () => tf.dispose(batchMatMul(a, b, { transposeA, transposeB })), {
      runs,
      warmup: 2,
      backend,
      extra,
    });
    // tfjs-wasm's own BatchMatMul fails on the large slices ("remainder by zero"): a loop of 2-D products there
    const reference = name.startsWith('bmm_large')
      ? () => tf.tidy(() => tf.stack(tf.unstack(a).map((ai, i) => tf.matMul(ai, tf.unstack(b)[i]))))
      : () => tf.matMul(a, b, transposeA, transposeB);
    const tfjs = await bench(`${name}_tfjs`, () => tf.dispose(reference()), {
      runs,
      warmup: 2,
      backend,
      extra,
    });
    if (ours && tfjs)
      console.error(`${name} ${backend}: ${(tfjs.median_ms / ours.median_ms).toFixed(1)}× tf.matMul`);
    tf.dispose([a, b]);
  }
}
