// OneShotSetVAE training-step speed (Top-n creation, the reference's widths), beside the
// PyTorch peer bench/one-shot-set-vae_peer.py (same names, sizes and parameter count):
//   oneshot_step_topn_b128_n9   batch 128 sets of 9 atoms (the paper's mean size), positions + one-hot(4)
//   oneshot_step_topn_b128_n20  the same with 20 atoms
// Each step = forward + backward + global-norm clipping at 4 + Adam (loss read back).
//   node bench/one-shot-set-vae.bench.mjs [--backends wasm,cpu]
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { OneShotSetVAE } from '../dist/index.js';

function uniformBatch(B, n, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return tf.tensor3d(Float32Array.from({ length: B * n * 7 }, () => next() * 12 - 6), [B, n, 7]);
}

for (const backend of backendsFromArgs(['wasm'])) {
  await useBackend(backend);
  for (const n of [9, 20]) {
    const model = new OneShotSetVAE({ creation: 'topn' });
    const optimizer = tf.train.adam(2e-4);
    const x = uniformBatch(128, n, n);
    let seed = 0;
    const step = () => {
      const variables = model.trainableVariables;
      const { value, grads } = tf.variableGrads(() => model.loss({ x }, { seed: seed++ }).total, variables);
      tf.tidy(() => {
        const list = variables.map((v) => grads[v.name]);
        const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))).dataSync()[0];
        const scale = norm > 4 ? 4 / (norm + 1e-6) : 1;
        optimizer.applyGradients(Object.fromEntries(variables.map((v, i) => [v.name, tf.mul(list[i], scale)])));
      });
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    };
    await bench(`oneshot_step_topn_b128_n${n}`, step, {
      runs: backend === 'cpu' ? 3 : 10,
      warmup: 2,
      backend,
      extra: { B: 128, n, params: model.countParameters() },
    });
    optimizer.dispose();
    model.dispose();
    x.dispose();
  }
}
