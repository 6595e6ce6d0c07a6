// One training step (forward, backward, Adam) of DSPN and TSPN at Set-MNIST sizes, batch 32,
// named as bench/dspn_tspn_peer.py's cases (the same steps written from the reference codes
// in PyTorch):
//   dspn_step  DSPN's MNIST script: N = 342, C = 2, dim 256, latent 64, T = 10, η = 800,
//              Chamfer (smooth-L1, mask feature) on all 11 sets, second-order inner loop
//   tspn_step  the tf-tspn config: sets of 150 points padded to 342, FSEncoder 256/64,
//              3 Transformer blocks (d 256, 4 heads), i.i.d. initial set, Chamfer + size CE
//   node bench/dspn-tspn.bench.mjs [--backends wasm,cpu] [--only dspn_step]
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { DSPN, TSPN } from '../dist/index.js';

const B = 32;
const N = 342;
const n = 150;

function uniformBatch(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = new Float32Array(B * N * 2);
  for (let i = 0; i < values.length; i++) values[i] = next();
  return {
    x: tf.tensor3d(values, [B, N, 2]),
    mask: tf.tidy(() => tf.cast(tf.less(tf.tile(tf.expandDims(tf.range(0, N), 0), [B, 1]), n), 'float32')),
  };
}

/** forward + backward + Adam, loss read back (what the runtime's trainStep does). */
function step(model, optimizer, batch, i) {
  const cost = optimizer.minimize(
    () => model.loss(batch, { seed: i, training: true }).total,
    true,
    model.trainableVariables,
  );
  cost.dataSync();
  cost.dispose();
}

for (const backend of backendsFromArgs(['wasm'])) {
  await useBackend(backend);
  const runs = backend === 'cpu' ? 2 : 5;
  const batch = uniformBatch(5);
  const cases = [
    ['dspn_step', () => new DSPN({ ...DSPN.presets.setMnist, maxSize: N })],
    ['tspn_step', () => new TSPN({ ...TSPN.presets.setMnist, maxSize: N })],
  ];
  for (const [name, make] of cases) {
    const model = make();
    // the runtime's step: forward, backward, checks, Adam; the loss terms read back
    await bench(name, () => model.trainStep(batch), {
      runs,
      warmup: 1,
      backend,
      extra: { B, set_size: n, padded_to: N, params: model.countParams() },
    });
    model.dispose();
  }
  tf.dispose([batch.x, batch.mask]);
}
