// A data-parallel worker thread (started by data-parallel.ts): imports the `setup` module,
// takes the main thread's tfjs backend and flags, rebuilds the model from its class name and
// config, then for every job loads the weights, claims shards from the back (the main thread
// takes them from the front), computes each with the same `computeShard` the main thread uses
// and writes the result into the shared buffer.

import { parentPort, workerData } from 'node:worker_threads';
import type { JobMessage, WorkerInit } from './data-parallel-protocol.js';
import * as protocol from './data-parallel-protocol.js';
import type { SetModel, TrainBatch } from './set-model.js';

const { DONE, FAILED, FAULT, FREE, GONE, MAIN, SEQ, STATES, UP, WORKER, WORKER_STATE, tagOf } = protocol;
const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.control);
const layout = new protocol.ResultLayout(init.sizes);
let held = -1; // the word of the shard this thread is computing, if any

// a thread that exits (or is terminated) while holding a shard gives it back as failed
process.on('exit', () => {
  if (held >= 0) {
    const state = Atomics.load(ctrl, held);
    if ((state & 7) === WORKER) Atomics.compareExchange(ctrl, held, state, state - WORKER + FAILED);
    Atomics.notify(ctrl, held);
  }
  Atomics.store(ctrl, WORKER_STATE + init.index, GONE);
});

async function start(): Promise<void> {
  if (init.setup) await import(init.setup);
  const tf = await import('@tensorflow/tfjs-core');
  const { setMatmulThreads } = await import('@setgen/ops/node');
  const { setWasmFma } = await import('@setgen/ops/internal');
  // both cores already run a shard each: no matrix-product threads on top
  setMatmulThreads(1);
  await import('../index.js'); // the shipped models register themselves
  const { registeredModel } = await import('./registry.js');
  const { computeShard, shardSeed } = await import('./shards.js');
  if (!tf.findBackendFactory(init.backend) && init.backendModule) await import(init.backendModule);
  // the main thread's flags (kernels' choices, PROD…) before the backend starts
  for (const [name, value] of Object.entries(init.flags)) {
    try {
      tf.env().set(name, value);
    } catch {
      // a flag this build does not know
    }
  }
  if (!(await tf.setBackend(init.backend))) throw new Error(`backend '${init.backend}' failed to start`);
  await tf.ready();
  const modelClass = registeredModel(init.className);
  if (!modelClass) {
    throw new Error(
      `no model class '${init.className}' is registered here (register it in the setup module)`,
    );
  }
  const model = new modelClass(init.config as never) as SetModel;
  const named = model.namedWeights();
  const variables = model.trainableVariables;

  function load(job: JobMessage): void {
    setWasmFma(job.wasmFma); // the main thread's kernel variant
    if (job.state !== undefined) model.restoreTrainingState?.(JSON.parse(job.state));
    let at = 0;
    for (const { variable } of named) {
      const values = tf.tensor(job.params.subarray(at, at + variable.size), variable.shape, variable.dtype);
      variable.assign(values);
      values.dispose();
      at += variable.size;
    }
  }

  function shardBatch(job: JobMessage, s: number): TrainBatch {
    const [b0, b1] = [job.bounds[s], job.bounds[s + 1]];
    const out: Record<string, unknown> = {};
    for (const [key, { data, shape, dtype }] of Object.entries(job.batch)) {
      const row = shape.slice(1).reduce((a, b) => a * b, 1);
      out[key] = tf.tensor(data.subarray(b0 * row, b1 * row), [b1 - b0, ...shape.slice(1)], dtype);
    }
    return out as unknown as TrainBatch;
  }

  function handle(job: JobMessage): void {
    const tag = tagOf(job.seq);
    let loaded = false;
    for (let s = job.bounds.length - 2; s >= 0; s--) {
      if (Atomics.load(ctrl, SEQ) !== job.seq) return; // a newer job is posted: this one is over
      const word = STATES + s;
      const was = Atomics.compareExchange(ctrl, word, tag + FREE, tag + WORKER);
      if (was !== tag + FREE) {
        if (was === tag + MAIN || (was & ~7) !== tag) return; // the main thread's side, or another job
        continue; // another worker's
      }
      held = word;
      let status = DONE;
      const fault = Atomics.exchange(ctrl, FAULT, 0);
      try {
        if (fault === 1) throw new Error('injected fault');
        if (fault === 2) process.exit(1);
        if (fault === 3) Atomics.wait(ctrl, FAULT, 0);
        const start = performance.now();
        if (!loaded) load(job);
        loaded = true;
        const shard = shardBatch(job, s);
        try {
          const result = computeShard(
            model,
            shard,
            { seed: shardSeed(job.seed, s), weights: job.weights, training: true },
            variables,
          );
          layout.write(init.results, s, result, performance.now() - start);
        } finally {
          tf.dispose(Object.values(shard) as never);
        }
      } catch {
        status = FAILED; // the main thread computes it again (and reports the error if it is the model's)
      }
      held = -1;
      Atomics.compareExchange(ctrl, word, tag + WORKER, tag + status);
      Atomics.notify(ctrl, word);
    }
  }

  parentPort?.on('message', (job: JobMessage) => handle(job));
  Atomics.store(ctrl, WORKER_STATE + init.index, UP);
}

start().catch((error: unknown) => {
  Atomics.store(ctrl, WORKER_STATE + init.index, GONE);
  parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) });
});
