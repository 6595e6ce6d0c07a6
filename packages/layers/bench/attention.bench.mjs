// Attention blocks at the peer's size (shared/peer/peer_bench.py `mab_fwd_b16_n2048_d64_h4`):
// self-attention MAB(X, X), 'set-transformer' variant without LN (juho-lee's MAB, as the
// peer), forward only; and an ISAB forward+backward (SetVAE's encoder block: 'setvae'
// variant, slot attention, LN, m = 32). Build first: `pnpm exec tsc -b`.
// `node bench/attention.bench.mjs --backends wasm,cpu [--only mab isab]`

import { Random } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { isab, mab } from '../dist/index.js';

const B = 16;
const N = 2048;
const D = 64;
const H = 4;
const M = 32;
const random = new Random(0);
const values = Float32Array.from({ length: B * N * D }, () => random.normal());

for (const backend of backendsFromArgs()) {
  await useBackend(backend);
  const runs = backend === 'cpu' ? 3 : 7;
  const x = tf.tensor3d(values, [B, N, D]);

  const block = mab({ units: D, numHeads: H, variant: 'set-transformer', layerNorm: false, seed: 1 });
  tf.dispose(block.apply([tf.slice(x, [0, 0, 0], [1, 2, D]), tf.slice(x, [0, 0, 0], [1, 2, D])])); // build
  await bench(
    'mab_fwd_b16_n2048_d64_h4',
    () => {
      const out = block.apply([x, x]);
      out.dataSync();
      out.dispose();
    },
    {
      runs,
      backend,
      extra: { B, N, dim: D, heads: H, ln: false, variant: 'set-transformer', mode: 'MAB(X,X) forward' },
    },
  );
  block.dispose();

  const encoder = isab({
    units: D,
    numHeads: H,
    numInducingPoints: M,
    variant: 'setvae',
    attention: 'slot',
    seed: 2,
  });
  tf.dispose(encoder.apply(tf.slice(x, [0, 0, 0], [1, 2, D]))); // build
  const variables = encoder.trainableWeights.map((w) => w.val);
  await bench(
    'isab_fwd_bwd_b16_n2048_d64_h4_m32',
    () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(encoder.apply(x))), variables);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    },
    {
      runs,
      backend,
      extra: {
        B,
        N,
        dim: D,
        heads: H,
        inducingPoints: M,
        ln: true,
        variant: 'setvae',
        attention: 'slot',
        mode: 'ISAB forward+backward (all weights)',
      },
    },
  );
  encoder.dispose();
  x.dispose();
}
