import * as tf from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { useBackend, testRandom } from '@setgen/testkit';
import { SetVAE } from './index.js';

it('info flows through the latents', async () => {
  await useBackend('wasm');
  const model = new SetVAE({ inputDim: 2, hiddenDim: 16, numHeads: 2, latentDim: 4, inducingPoints: [2, 4], initialSetDim: 8, mixtureComponents: 2, beta: 0, klWarmupEpochs: 0, learningRate: 3e-3, seed: 3 });
  const rand = testRandom(1);
  const vals = new Float32Array(4 * 20 * 2);
  const centers = [[0.2, 0.2], [0.8, 0.8], [0.2, 0.8], [0.8, 0.2]];
  for (let b = 0; b < 4; b++) for (let i = 0; i < 20; i++) { vals[(b * 20 + i) * 2] = centers[b][0] + 0.05 * rand(); vals[(b * 20 + i) * 2 + 1] = centers[b][1] + 0.05 * rand(); }
  const x = tf.tensor3d(vals, [4, 20, 2]);
  for (let s = 0; s < 200; s++) { const r = model.trainStep(x); if (s % 40 === 0) console.log(s, r.losses.recon.toFixed(3), r.losses.kl.toFixed(2)); }
  const rec = model.reconstruct(x, { seed: 1 });
  console.log('recon means', JSON.stringify(tf.mean(rec.x, 1).arraySync()));
}, 600000);
