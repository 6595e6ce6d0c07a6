// The residual LayerNorm LN(x + r) forward + backward (one gradient of Σ w·LN(x + r) with
// respect to x, r, γ, β): `fusedAddLayerNorm` (one kernel each way) against the same formula
// as tfjs ops with a written backward pass (what @setgen/layers ran before, `<name>_composed`),
// on the rows of a one-shot VAE block (128 sets × 9 or 20 atoms × 64) and a SetVAE block
// (64 × 150 × 64). Build first: `pnpm exec tsc -b`. Run: `node bench/layer-norm.bench.mjs [--backends wasm,cpu]`.
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { fusedAddLayerNorm } from '../dist/internal.js';

const EPSILON = 1e-5;

/** LN(x + r) as composed tfjs ops with its backward written out (saving x̂, ρ, γ). */
const composed = tf.customGrad((x, r, gamma, beta, save) => {
  const centred = tf.sub(tf.add(x, r), tf.mean(tf.add(x, r), -1, true));
  const rho = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), EPSILON));
  const xHat = tf.mul(centred, rho);
  save([xHat, rho, gamma]);
  return {
    value: tf.add(tf.mul(xHat, gamma), beta),
    gradFunc: (dy, [sx, sr, sg]) => {
      const g = tf.mul(dy, sg);
      const dx = tf.mul(
        tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sx, tf.mean(tf.mul(g, sx), -1, true))),
        sr,
      );
      const rows = dy.size / dy.shape[dy.rank - 1];
      const flat = (t) => tf.reshape(t, [rows, dy.shape[dy.rank - 1]]);
      return [dx, tf.reshape(dx, dx.shape), tf.sum(flat(tf.mul(dy, sx)), 0), tf.sum(flat(dy), 0)];
    },
  };
});

const CASES = [
  ['layer_norm_128x9x64', [128, 9, 64]],
  ['layer_norm_128x20x64', [128, 20, 64]],
  ['layer_norm_64x150x64', [64, 150, 64]],
];

for (const backend of backendsFromArgs(['wasm'])) {
  await useBackend(backend);
  for (const [name, shape] of CASES) {
    const [x, r, w] = [0, 1, 2].map(() => tf.randomNormal(shape));
    const gamma = tf.randomNormal([shape[2]]);
    const beta = tf.randomNormal([shape[2]]);
    const step = (ln) => () =>
      tf.dispose(tf.grads((a, b, g, c) => tf.sum(tf.mul(w, ln(a, b, g, c))))([x, r, gamma, beta]));
    const runs = backend === 'cpu' ? 5 : 20;
    const extra = { shape };
    await bench(
      name,
      step((a, b, g, c) => fusedAddLayerNorm(a, b, g, c, EPSILON)),
      { runs, warmup: 3, backend, extra },
    );
    await bench(`${name}_composed`, step(composed), { runs, warmup: 3, backend, extra });
    tf.dispose([x, r, w, gamma, beta]);
  }
}
