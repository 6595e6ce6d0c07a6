// Attention blocks at the peer's size (shared/peer/peer_bench.py `mab_fwd_b16_n2048_d64_h4`):
// self-attention MAB(X, X), 'set-transformer' variant without LN (juho-lee's MAB, as the
// peer), forward only — interleaved with bench/attention_peer.py (PyTorch, 2 threads, kept
// alive with --serve): every round times one forward of ours, then one of the peer, so both
// see the same load; the line adds the peer's quantiles and the median of per-round ratios.
// `--unfused` also times ours with the fused attention kernel switched off (FUSED_ATTENTION_FLAG),
// interleaved the same way. And an ISAB forward+backward (SetVAE's encoder block: 'setvae'
// variant, slot attention, LN, m = 32; no peer). Build first: `pnpm exec tsc -b`.
// `node bench/attention.bench.mjs --backends wasm,cpu [--only mab isab] [--runs 7] [--unfused] [--no-peer]`

import { join } from 'node:path';
import { Random } from '@setgen/ops';
import { FUSED_ATTENTION_FLAG, matmulKernelVariant } from '@setgen/ops/internal';
import * as tf from '@tensorflow/tfjs-core';
import {
  backendsFromArgs,
  bench,
  interleaved,
  selected,
  startPeer,
  useBackend,
} from '../../../scripts/bench-harness.mjs';
import { isab, mab } from '../dist/index.js';

const B = 16;
const N = 2048;
const D = 64;
const H = 4;
const M = 32;
const random = new Random(0);
const values = Float32Array.from({ length: B * N * D }, () => random.normal());
const argv = process.argv.slice(2);
const runsArg = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 0;
const MAB_NAME = 'mab_fwd_b16_n2048_d64_h4';
const peer = selected(MAB_NAME)
  ? await startPeer(join(import.meta.dirname, 'attention_peer.py'), 'attention bench')
  : null;

for (const backend of backendsFromArgs()) {
  await useBackend(backend);
  const runs = runsArg || (backend === 'cpu' ? 3 : 7);
  const x = tf.tensor3d(values, [B, N, D]);

  const block = mab({ units: D, numHeads: H, variant: 'set-transformer', layerNorm: false, seed: 1 });
  tf.dispose(block.apply([tf.slice(x, [0, 0, 0], [1, 2, D]), tf.slice(x, [0, 0, 0], [1, 2, D])])); // build
  const forward = () => {
    const t0 = performance.now();
    const out = block.apply([x, x]);
    out.dataSync();
    out.dispose();
    return performance.now() - t0;
  };
  const extra = {
    B,
    N,
    dim: D,
    heads: H,
    ln: false,
    variant: 'set-transformer',
    mode: 'MAB(X,X) forward',
    matmul_kernel: matmulKernelVariant(),
  };
  for (const fused of argv.includes('--unfused') ? [true, false] : [true]) {
    if (!selected(MAB_NAME)) break;
    tf.env().set(FUSED_ATTENTION_FLAG, fused);
    const name = fused ? MAB_NAME : `${MAB_NAME}_unfused`;
    console.log(
      JSON.stringify(await interleaved(name, forward, { peer, peerName: MAB_NAME, runs, backend, extra })),
    );
  }
  tf.env().set(FUSED_ATTENTION_FLAG, true);
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
peer?.stop();
