// SetVAE training-step speed, named as /work/shared/peer/peer_bench.py's cases:
//   setvae_step               Set-MNIST config, batch 64, 150 points in and out, no padding
//   setvae_step_padded_mnist  the same sets as the real pipeline pads them: encoder input
//                             padded to 342 (prefix mask of 150); the peer also pads its
//                             initial set to 400 with a random mask, we create it at the
//                             batch's largest cardinality (padding never changes a result).
// Each step = forward + backward + Adam update (loss read back to the host).
//   setvae_step_dp2           setvae_step as a data-parallel step: 2 shards of 32 sets, one on a
//                             worker thread (`dataParallel(model, { shards: 2, workers: 1 })`)
//   setvae_step_dp2_inline    the same 2 shards both on the main thread: the cost of sharding
//                             where there is one core (`workers: 0`)
//   node bench/setvae.bench.mjs [--backends wasm,cpu] [--only setvae_step]
import { matmulKernelVariant } from '@setgen/ops/internal';
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, selected, useBackend } from '../../../scripts/bench-harness.mjs';
import { dataParallel, SetVAE } from '../dist/node.js';

const B = 64;
const n = 150;

function uniformBatch(size, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = new Float32Array(B * size * 2);
  for (let i = 0; i < values.length; i++) values[i] = next();
  return tf.tensor3d(values, [B, size, 2]);
}

for (const backend of backendsFromArgs(['wasm', 'cpu'])) {
  await useBackend(backend);
  const runs = backend === 'cpu' ? 3 : 10;
  const cases = [
    { name: 'setvae_step', x: uniformBatch(n, 5), mask: undefined },
    {
      name: 'setvae_step_padded_mnist',
      x: uniformBatch(342, 6),
      mask: tf.tidy(() =>
        tf.cast(tf.less(tf.tile(tf.expandDims(tf.range(0, 342), 0), [B, 1]), n), 'float32'),
      ),
    },
  ];
  const plain = cases[0];
  cases.push(
    { ...plain, name: 'setvae_step_dp2', parallel: { shards: 2, workers: 1 } },
    { ...plain, name: 'setvae_step_dp2_inline', parallel: { shards: 2, workers: 0 } },
  );
  for (const { name, x, mask, parallel } of cases) {
    if (!selected(name)) continue;
    const model = new SetVAE(SetVAE.presets.setMnist);
    if (parallel) await dataParallel(model, parallel).ready();
    await bench(name, () => model.trainStep({ x, mask }), {
      runs,
      warmup: 2,
      backend,
      extra: {
        B,
        set_size: n,
        padded_to: mask ? 342 : n,
        params: model.countParams(),
        ...parallel,
        matmul_kernel: matmulKernelVariant(),
      },
    });
    model.dispose();
  }
  tf.dispose(cases.slice(0, 2).flatMap(({ x, mask }) => [x, mask].filter(Boolean)));
}
