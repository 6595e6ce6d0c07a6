// A program that trains with data-parallel workers and ends without disposing anything: the
// process must exit by itself (the workers are unref'd). Run by data-parallel.test.ts.
import '@tensorflow/tfjs-backend-wasm';
import { dataParallel, SetVAE } from '@setgen/models/node';
import * as tf from '@tensorflow/tfjs-core';

await tf.setBackend('wasm');
await tf.ready();
const model = new SetVAE({ inputDim: 2, hiddenDim: 16, numHeads: 2, latentDim: 4, inducingPoints: [2, 4], initialSetDim: 8 });
const parallel = dataParallel(model, { shards: 2, workers: 1 });
await parallel.ready();
const x = tf.randomUniform([8, 10, 2], 0, 1, 'float32', 1);
const { total } = model.trainStep({ x }).losses;
console.log(JSON.stringify({ workers: parallel.workers, finite: Number.isFinite(total) }));
