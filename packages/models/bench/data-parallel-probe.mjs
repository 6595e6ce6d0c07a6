// Where a data-parallel step's time goes (2 shards, 1 worker) beside the plain step, from the
// pool's own accounting: the main thread's shard, the worker's (weights loaded included), the
// main thread's wait for it, posting the job. One JSON line.
//   node bench/data-parallel-probe.mjs setvae|9|20   (SetVAE Set-MNIST step, or the one-shot step at n)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { dataParallel, OneShotSetVAE, SetVAE } from '../dist/node.js';
import { dataParallelForTests } from '../dist/runtime/data-parallel.js'; // the pool's time accounting

await tf.setBackend('wasm');
await tf.ready();
const which = process.argv[2];
const x =
  which === 'setvae'
    ? tf.randomUniform([64, 150, 2], 0, 1, 'float32', 5)
    : tf.randomUniform([128, Number(which), 7], -6, 6, 'float32', 9);
const make = () =>
  which === 'setvae' ? new SetVAE(SetVAE.presets.setMnist) : new OneShotSetVAE({ creation: 'topn' });
const N = 8;
const timeSteps = (model) => {
  for (let i = 0; i < 3; i++) model.trainStep({ x });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) model.trainStep({ x });
  return (performance.now() - t0) / N;
};
const plain = make();
const plainMs = timeSteps(plain);
plain.dispose();
const model = make();
await dataParallel(model, { shards: 2, workers: 1 }).ready();
const pool = dataParallelForTests.pool(model);
for (let i = 0; i < 3; i++) model.trainStep({ x });
for (const k of Object.keys(pool.time)) pool.time[k] = 0;
const t0 = performance.now();
for (let i = 0; i < N; i++) model.trainStep({ x });
const dpMs = (performance.now() - t0) / N;
const r = (v) => Math.round(v);
console.log(
  JSON.stringify({
    which,
    plainMs: r(plainMs),
    dpMs: r(dpMs),
    mainShardMs: r(pool.time.main / pool.time.mainShards),
    workerShardMs: r(pool.time.workers / N),
    waitMs: r(pool.time.waiting / N),
    postMs: r(pool.time.posting / N),
    mainShards: pool.time.mainShards,
  }),
);
model.dispose();
