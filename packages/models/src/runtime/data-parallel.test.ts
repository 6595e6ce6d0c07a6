// Data-parallel steps: S shards give the whole batch's gradient (to float rounding) for a
// deterministic model; the same S gives bit-identical steps whether the shards run here or on
// worker threads, also when a worker throws, exits or hangs; no tensor is left behind; bad
// options are typed errors; a checkpoint resumes with its shard count.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@setgen/ops';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it, vi } from 'vitest';
import { memoryHandler } from '../__fixtures__/memory-handler.js';
import { padded, ringSets } from '../__fixtures__/ring-sets.js';
import { tinySetVAE } from '../__fixtures__/tiny-setvae.js';
import { OneShotSetVAE } from '../one-shot-set-vae.js';
import { SetVAE } from '../setvae.js';
import { DeepSetsAutoencoder } from './__fixtures__/deep-sets-autoencoder.js';
import { dataParallel, dataParallelForTests } from './data-parallel.js';
import { FAULT } from './data-parallel-protocol.js';
import { loadModel, type SetModel, saveModel, type TrainBatch, trainerOf } from './index.js';
import { registeredModel } from './registry.js';
import { shardBounds } from './shards.js';

const weightsOf = (model: SetModel) => model.trainableVariables.map((v) => Array.from(v.dataSync()));

/** 7 ring sets of 3..6 points, padded to 6: uneven shards. */
const ringBatch = (seed: number): TrainBatch => padded(ringSets([6, 4, 5, 3, 6, 5, 4], seed));
const disposeBatch = (b: TrainBatch) => tf.dispose([b.x, b.mask as tf.Tensor]);

afterEach(() => {
  dataParallelForTests.noStealing = false;
  dataParallelForTests.patienceMs = undefined;
  vi.restoreAllMocks();
});

it('shardBounds: contiguous slices, sizes as even as possible', () => {
  expect(shardBounds(7, 3)).toEqual([0, 3, 5, 7]);
  expect(shardBounds(64, 2)).toEqual([0, 32, 64]);
  expect(shardBounds(2, 4)).toEqual([0, 1, 2, 2, 2]);
});

describeBackends('data-parallel steps', (backend) => {
  it('S shards of a deterministic model: the whole batch gradient, to float rounding', () => {
    const config = { dim: 2, hidden: 16, maxSize: 6, seed: 5 };
    const batch = ringBatch(1);
    const step = (shards: number) => {
      const model = new DeepSetsAutoencoder(config);
      const before = weightsOf(model);
      if (shards > 1) dataParallel(model, { shards, workers: 0 });
      const sgd = tf.train.sgd(1);
      const result = model.trainer.trainStep(batch, { optimizer: sgd });
      // SGD with rate 1: the update is minus the gradient
      const gradient = weightsOf(model).map((w, i) => w.map((v, k) => before[i][k] - v));
      sgd.dispose();
      model.dispose();
      return { result, gradient };
    };
    const whole = step(1);
    for (const shards of [2, 3, 7]) {
      const split = step(shards);
      expect(split.result.losses.total).toBeCloseTo(whole.result.losses.total, 5);
      expect(split.result.gradientNorm).toBeCloseTo(whole.result.gradientNorm, 4);
      const wanted = whole.gradient.flat();
      const error = Math.max(...split.gradient.flat().map((v, k) => Math.abs(v - wanted[k])));
      expect(error).toBeLessThan(1e-5);
      // it is a different computation, not the same one again
      expect(split.gradient.flat().some((v, k) => v !== whole.gradient.flat()[k])).toBe(true);
    }
    disposeBatch(batch);
  });

  it("a model whose terms are sums over the sets ('sum'): shards summed with weight 1", () => {
    class SummedAutoencoder extends DeepSetsAutoencoder {
      static override readonly className = 'SummedAutoencoder';
      readonly batchReduction = 'sum';
      override loss(batch: TrainBatch) {
        return tf.tidy(() => {
          const { total } = super.loss(batch);
          const sum = tf.mul(total, batch.x.shape[0]) as tf.Scalar;
          return { total: sum, chamfer: sum.clone() };
        });
      }
    }
    const batch = ringBatch(2);
    const run = (shards: number) => {
      const model = new SummedAutoencoder({ dim: 2, hidden: 8, maxSize: 6, seed: 1 });
      if (shards > 1) dataParallel(model, { shards, workers: 0 });
      const result = model.trainer.trainStep(batch);
      model.dispose();
      return result;
    };
    const whole = run(1);
    const split = run(3);
    expect(split.losses.total).toBeCloseTo(whole.losses.total, 4);
    expect(split.gradientNorm).toBeCloseTo(whole.gradientNorm, 3);
    disposeBatch(batch);
  });

  it('the same shards on worker threads: bit-identical steps, and the workers took part', async () => {
    const batch = padded(ringSets([6, 4, 5, 3, 6, 5, 4, 6], 3));
    const run = async (workers: number) => {
      const model = new SetVAE(tinySetVAE);
      const parallel = dataParallel(model, { shards: 3, workers });
      await parallel.ready();
      dataParallelForTests.noStealing = workers > 0; // the workers' shards are theirs, however slow
      const losses = [0, 1, 2].map(() => model.trainStep(batch).losses);
      const taken = dataParallelForTests.pool(model)?.workerShards ?? 0;
      const weights = weightsOf(model);
      model.dispose(); // ends the workers too
      return { losses, weights, taken };
    };
    const inline = await run(0);
    const threaded = await run(2);
    expect(threaded.taken).toBeGreaterThan(0);
    expect(threaded.losses).toEqual(inline.losses);
    expect(threaded.weights).toEqual(inline.weights);
    disposeBatch(batch);
  });

  for (const fault of ['throw', 'exit', 'hang'] as const) {
    it(`a worker that ${fault}s: its shard is computed here, one warning, the same step`, async () => {
      const batch = ringBatch(4);
      const model = new SetVAE(tinySetVAE);
      const inlineModel = new SetVAE(tinySetVAE);
      dataParallel(inlineModel, { shards: 2, workers: 0 });
      const timeoutMs = fault === 'hang' ? 1500 : 20_000;
      const parallel = dataParallel(model, { shards: 2, workers: 1, timeoutMs });
      await parallel.ready();
      // a first step on both (the optimizer's state exists from there on)
      expect(model.trainStep(batch).losses).toEqual(inlineModel.trainStep(batch).losses);
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      dataParallelForTests.noStealing = true; // the worker takes the last shard
      if (fault === 'hang') dataParallelForTests.patienceMs = 100; // then it is computed here
      dataParallelForTests.injectFault(model, fault);
      const before = tf.memory().numTensors;
      const got = [0, 1, 2].map(() => model.trainStep(batch).losses);
      if (fault === 'hang') {
        // A loaded machine may keep the worker from claiming its shard before the main thread
        // takes it back (the claim is bounded by timeoutMs): step until the worker has taken the
        // fault, i.e. holds a shard and hangs on it; the held shard is computed here at once.
        const pool = dataParallelForTests.pool(model);
        for (let k = 0; k < 30 && pool && Atomics.load(pool.control, FAULT) !== 0; k++) {
          got.push(model.trainStep(batch).losses);
        }
        expect(pool && Atomics.load(pool.control, FAULT)).toBe(0); // the worker did hang
        // the workers are given up once the held shard is older than the timeout
        await new Promise((r) => setTimeout(r, 1600));
        got.push(model.trainStep(batch).losses);
      }
      const want = got.map(() => inlineModel.trainStep(batch).losses);
      expect(got).toEqual(want);
      expect(weightsOf(model)).toEqual(weightsOf(inlineModel));
      expect(tf.memory().numTensors).toBe(before);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/data-parallel worker/);
      model.dispose();
      inlineModel.dispose();
      disposeBatch(batch);
    });
  }

  it('no tensor left behind: steps, a diverging step, and workers', async () => {
    const batch = ringBatch(5);
    const model = new SetVAE(tinySetVAE);
    const parallel = dataParallel(model, { shards: 3, workers: backend === 'wasm' ? 1 : 0 });
    await parallel.ready();
    model.trainStep(batch); // the optimizer's state exists from here on
    await expectNoLeak(() => {
      model.trainStep(batch);
    });
    const weights = weightsOf(model);
    const before = tf.memory().numTensors;
    expect(() => model.trainer.trainStep(batch, { maxLoss: 1e-9 })).toThrow(/diverged/);
    expect(tf.memory().numTensors).toBe(before);
    expect(weightsOf(model)).toEqual(weights);
    model.dispose();
    disposeBatch(batch);
  });

  it('a checkpoint keeps the shard count: a resumed run takes the same steps', async () => {
    const batch = ringBatch(6);
    const model = new SetVAE(tinySetVAE);
    dataParallel(model, { shards: 2, workers: 0 });
    model.trainStep(batch);
    const memory = memoryHandler();
    await saveModel(model, memory.handler);
    const next = [0, 1].map(() => model.trainStep(batch).losses);
    const loaded = (await loadModel(memory.handler)) as SetVAE;
    expect(trainerOf(loaded).shards).toBe(2);
    expect([0, 1].map(() => loaded.trainStep(batch).losses)).toEqual(next);
    expect(weightsOf(loaded)).toEqual(weightsOf(model));
    // changing the count of a running model is allowed, with a warning
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    dataParallel(loaded, { shards: 3, workers: 0 });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/from 2 to 3 shards at step 3/));
    loaded.dispose();
    model.dispose();
    disposeBatch(batch);
  });
});

describeBackends("a user's own model class, registered in the workers by the setup module", () => {
  it('the workers rebuild it and take the same steps', async () => {
    const setup = new URL('./__fixtures__/mean-matcher.mjs', import.meta.url);
    await import(/* @vite-ignore */ setup.href);
    const MeanMatcher = registeredModel('MeanMatcher') as unknown as new (config: object) => SetModel;
    const batch = ringBatch(7);
    const run = async (workers: number) => {
      const model = new MeanMatcher({ dim: 2 });
      const parallel = dataParallel(model, { shards: 4, workers, setup: workers > 0 ? setup : undefined });
      await parallel.ready();
      dataParallelForTests.noStealing = workers > 0;
      const losses = [0, 1, 2].map(() => trainerOf(model).trainStep(batch).losses);
      const taken = dataParallelForTests.pool(model)?.workerShards ?? 0;
      const weights = weightsOf(model);
      parallel.dispose();
      model.dispose();
      return { losses, weights, taken };
    };
    const inline = await run(0);
    const threaded = await run(1);
    expect(threaded.taken).toBeGreaterThan(0);
    expect(threaded).toEqual({ ...inline, taken: threaded.taken });
    disposeBatch(batch);
  });
}, ['wasm']);

it('a backend the workers cannot import: a ConfigError naming options.setup', async () => {
  const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu');
  tf.registerBackend('dp-elsewhere', () => new MathBackendCPU());
  const previous = tf.getBackend();
  const model = new DeepSetsAutoencoder({ dim: 2, hidden: 4, maxSize: 3 });
  try {
    await tf.setBackend('dp-elsewhere');
    expect(() => dataParallel(model, { shards: 2, workers: 1 })).toThrow(ConfigError);
    expect(() => dataParallel(model, { shards: 2, workers: 1 })).toThrow(
      /options.setup: the workers need the 'dp-elsewhere' backend, but @tensorflow\/tfjs-backend-dp-elsewhere cannot be resolved/,
    );
    // with no workers there is nothing to import
    expect(dataParallel(model, { shards: 2, workers: 0 }).workers).toBe(0);
  } finally {
    await tf.setBackend(previous);
    tf.removeBackend('dp-elsewhere');
    model.dispose();
  }
});

it('disposing the handle ends the workers; the model keeps its shard count', async () => {
  const model = new SetVAE(tinySetVAE);
  const parallel = dataParallel(model, { shards: 2, workers: 1 });
  await parallel.ready();
  const pool = dataParallelForTests.pool(model);
  expect(pool?.threads).toHaveLength(1);
  const exited = new Promise((resolve) => pool?.threads[0].once('exit', resolve));
  parallel.dispose();
  await exited;
  expect(dataParallelForTests.pool(model)).toBeNull();
  expect(trainerOf(model).shards).toBe(2);
  model.dispose();
});

it('a program that never disposes its workers still exits by itself', () => {
  const program = fileURLToPath(new URL('./__fixtures__/exits-without-dispose.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [program], { encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(0); // a timeout would leave status null
  expect(run.stdout.trim().split('\n').pop()).toBe('{"workers":1,"finite":true}');
});

it('bad options are ConfigErrors, before any worker starts', () => {
  const model = new DeepSetsAutoencoder({ dim: 2, hidden: 4, maxSize: 3 });
  const bad: [unknown, RegExp][] = [
    [null, /options: expected/],
    [{}, /options.shards: expected an integer in \[1, 64\], got undefined/],
    [{ shards: 0 }, /options.shards/],
    [{ shards: 2.5 }, /options.shards/],
    [{ shards: 65 }, /options.shards/],
    [{ shards: 2, workers: -1 }, /options.workers: expected 'auto' or an integer/],
    [{ shards: 2, workers: 'many' }, /options.workers/],
    [{ shards: 2, timeoutMs: 0 }, /options.timeoutMs/],
    [{ shards: 2, setup: 3 }, /options.setup: expected a module path or URL/],
    [{ shards: 2, workers: 1, setup: '/no/such/module.mjs' }, /options.setup: no module at/],
    [{ shards: 2, thread: 1 }, /options.thread/],
  ];
  for (const [options, message] of bad) {
    expect(() => dataParallel(model, options as never)).toThrow(ConfigError);
    expect(() => dataParallel(model, options as never)).toThrow(message);
  }
  expect(trainerOf(model).shards).toBe(1);
  expect(() => trainerOf(model).setShards(0)).toThrow(/shards: expected an integer in \[1, 64\]/);
  model.dispose();
});

it('the one-shot set VAE sums its terms over the batch', () => {
  expect(new OneShotSetVAE({ creation: 'topn', inputDim: 3, outputDim: 3, maxSize: 4 }).batchReduction).toBe(
    'sum',
  );
});
