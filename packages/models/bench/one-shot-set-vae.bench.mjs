// OneShotSetVAE training-step speed (Top-n creation, the reference's widths), beside the
// PyTorch peer bench/one-shot-set-vae_peer.py (same names, sizes and parameter count):
//   oneshot_step_topn_b128_n9   batch 128 sets of 9 atoms (the paper's mean size), positions + one-hot(4)
//   oneshot_step_topn_b128_n20  the same with 20 atoms
// Each step = the runtime's trainStep: forward + backward + global-norm clipping at 4 + Adam.
//   node bench/one-shot-set-vae.bench.mjs [--backends wasm,cpu]
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { OneShotSetVAE } from '../dist/index.js';

for (const backend of backendsFromArgs(['wasm'])) {
  await useBackend(backend);
  for (const n of [9, 20]) {
    const model = new OneShotSetVAE({ creation: 'topn' });
    const x = tf.randomUniform([128, n, 7], -6, 6, 'float32', n); // positions and features in ±6, seeded
    // the runtime's step with the model's plan: Adam(2e-4), clipping at 4, plateau schedule
    const step = () => model.trainStep({ x }).losses.total;
    await bench(`oneshot_step_topn_b128_n${n}`, step, {
      runs: backend === 'cpu' ? 3 : 10,
      warmup: 2,
      backend,
      extra: { B: 128, n, params: model.countParams() },
    });
    model.dispose();
    x.dispose();
  }
}
