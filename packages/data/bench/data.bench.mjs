// Data pipeline timings (host only): .npy decoding, Set-MNIST conversion, batching an epoch,
// the molecule sampler and streaming PointFlow clouds. Peer: bench/data_peer.py (numpy).
// Run: pnpm exec tsc -b && node bench/data.bench.mjs [--only data_npy ...]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { batches, readNpy, setMnist, syntheticMolecules, writeNpy } from '../dist/index.js';
import { loadPointClouds } from '../dist/node.js';

await useBackend('cpu');
const cloud = Float32Array.from({ length: 15000 * 3 }, (_, i) => Math.sin(i));
const npyBytes = writeNpy(cloud, [15000, 3]);

await bench('data_npy_read_15k', () => readNpy(npyBytes), {
  runs: 21,
  backend: 'host',
  extra: { points: 15000 },
});

setMnist({ split: 'test', limit: 1 }); // load and cache the bundled digits
await bench('data_set_mnist_10k', () => setMnist({ split: 'all' }), {
  runs: 7,
  backend: 'host',
  extra: { digits: 10000 },
});

const train = setMnist({ split: 'train' });
await bench(
  'data_batches_epoch_mnist',
  async () => {
    for await (const batch of batches(train, { batchSize: 64, shuffle: true, seed: 1, maxSize: 342 })) {
      tf.dispose([batch.x, batch.mask]);
    }
  },
  { runs: 5, extra: { sets: train.sets.length, batchSize: 64, maxSize: 342 } },
);

await bench('data_molecules_2500', () => syntheticMolecules({ numSets: 2500, seed: 0 }), {
  runs: 5,
  backend: 'host',
  extra: { sets: 2500 },
});

const root = await mkdtemp(join(tmpdir(), 'setgen-bench-clouds-'));
try {
  for (const split of ['train', 'val']) {
    await mkdir(join(root, 'synset', split), { recursive: true });
    for (let f = 0; f < 20; f++) await writeFile(join(root, 'synset', split, `${f}.npy`), npyBytes);
  }
  await bench(
    'data_point_clouds_val_global_20',
    async () => {
      for await (const c of await loadPointClouds(root, {
        split: 'val',
        numPoints: 2048,
        normalize: 'global',
      }))
        void c;
    },
    { runs: 5, backend: 'host', extra: { trainFiles: 20, valFiles: 20, pointsPerFile: 15000 } },
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
