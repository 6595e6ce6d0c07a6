// FSPool and Top-n creation at the sizes their papers train at. FSPool: DSPN's Set-MNIST
// encoder output (B 32, N 342 padded, C 64 latent channels, 20 pieces, variable sizes),
// forward and forward+backward w.r.t. x and the weights. Top-n: the synthetic-molecule
// config (n0 35, angles 3, C 16, latent 30) with batch 128 and n = 20, forward+backward.
// The PyTorch counterparts are in `creation_peer.py` (same names, same sizes).
// Build first: `pnpm exec tsc -b`.  `node bench/creation.bench.mjs --backends wasm,cpu`

import { Random } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { fspool, topNCreation } from '../dist/index.js';

const random = new Random(0);
const [B, N, C] = [32, 342, 64];
const sizes = Array.from({ length: B }, () => 100 + random.int(N - 100 + 1));
const values = Float32Array.from({ length: B * N * C }, () => random.normal());
const maskValues = Float32Array.from({ length: B * N }, (_, i) => (i % N < sizes[Math.floor(i / N)] ? 1 : 0));
const [TB, n0, A, TC, L, n] = [128, 35, 3, 16, 30, 20];
const latents = Float32Array.from({ length: TB * L }, () => random.normal());

for (const backend of backendsFromArgs()) {
  await useBackend(backend);
  const runs = backend === 'cpu' ? 5 : 9;
  const x = tf.tensor3d(values, [B, N, C]);
  const mask = tf.tensor2d(maskValues, [B, N]);
  const pool = fspool({ numPieces: 20, seed: 1 });
  tf.dispose(pool.apply(x, { mask })); // build
  const extra = { B, N, C, pieces: 20, sizes: 'U[100, 342]' };
  await bench(
    'fspool_fwd_b32_n342_c64',
    () => {
      const out = pool.apply(x, { mask });
      out.dataSync();
      out.dispose();
    },
    { runs, backend, extra: { ...extra, mode: 'forward' } },
  );
  await bench(
    'fspool_fwd_bwd_b32_n342_c64',
    () => {
      const { value, grads } = tf.variableGrads(() => {
        const out = pool.apply(x, { mask });
        return tf.sum(tf.square(out));
      });
      grads[Object.keys(grads)[0]].dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    },
    { runs, backend, extra: { ...extra, mode: 'forward+backward (weights)' } },
  );
  pool.dispose();
  tf.dispose([x, mask]);

  const z = tf.tensor2d(latents, [TB, L]);
  const creation = topNCreation({ referenceSize: n0, angleDim: A, featureDim: TC, maxSize: n, seed: 2 });
  const batchSizes = new Array(TB).fill(n);
  tf.dispose(Object.values(creation.create(z, batchSizes))); // build
  await bench(
    'topn_fwd_bwd_b128_n20',
    () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(creation.create(z, batchSizes).x)));
      grads[Object.keys(grads)[0]].dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    },
    {
      runs,
      backend,
      extra: { B: TB, n0, angleDim: A, C: TC, latent: L, n, mode: 'create + backward (all weights)' },
    },
  );
  creation.dispose();
  z.dispose();
}
