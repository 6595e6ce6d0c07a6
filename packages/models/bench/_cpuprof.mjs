import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { SetVAE, OneShotSetVAE } from '../dist/node.js';
await tf.setBackend('wasm');
const which = process.argv[2] ?? 'setvae';
let model, x;
if (which === 'setvae') {
  x = tf.randomUniform([8, 100, 2], 0, 1, 'float32', 3);
  model = new SetVAE({ ...SetVAE.presets.setMnist, hiddenDim: 32, numHeads: 2, batchSize: 8, freeBits: 4, beta: 3e-3, learningRate: 3e-3, epochs: 24, maxOutputs: 2000, seed: 1 });
} else {
  x = tf.randomUniform([128, 9, 7], -6, 6, 'float32', 9);
  model = new OneShotSetVAE({ creation: 'topn' });
}
const N = Number(process.argv[3] ?? 300);
for (let i = 0; i < 30; i++) await model.trainStep({ x });
const t0 = performance.now();
for (let i = 0; i < N; i++) await model.trainStep({ x });
console.log('ms/step', ((performance.now() - t0) / N).toFixed(2));
