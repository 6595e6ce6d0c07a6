// The runtime on a model written against it (a DeepSets autoencoder in < 100 lines):
// train, save, loadModel, exact resume; the train step's checks and error paths; fit's
// data sources, divergence policy and checkpoints.
import { ConfigError, DataError } from '@setgen/ops';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { memoryHandler } from '../__fixtures__/memory-handler.js';
import { padded, ringSets } from '../__fixtures__/ring-sets.js';
import { DeepSetsAutoencoder } from './__fixtures__/deep-sets-autoencoder.js';
import { type Checkpoint, writeCheckpoint } from './checkpoint.js';
import {
  fit,
  loadModel,
  loadWeights,
  NonFiniteBatchError,
  registeredModels,
  saveModel,
  type TrainBatch,
  Trainer,
  trainerOf,
  trainStep,
} from './index.js';

const config = { dim: 2, hidden: 16, maxSize: 6, learningRate: 1e-2, seed: 3 };

const batches = (count: number, seed: number): TrainBatch[] =>
  Array.from({ length: count }, (_, i) => padded(ringSets([6, 4, 5], seed + i)));

const disposeBatches = (list: TrainBatch[]) => tf.dispose(list.flatMap((b) => [b.x, b.mask as tf.Tensor]));

const weightsOf = (model: DeepSetsAutoencoder) =>
  model.trainableVariables.map((v) => Array.from(v.dataSync()));

describeBackends('runtime: a model written against it', () => {
  it('trains, saves, loads by loadModel as its own class, and resumes exactly', async () => {
    const data = batches(4, 1);
    const model = new DeepSetsAutoencoder(config);
    const first = await model.fit(data, { epochs: 5 });
    expect(first).toEqual({ step: 20, epoch: 5, skipped: 0, stoppedBy: 'epochs' });
    const losses: number[] = [];
    const memory = memoryHandler();
    await saveModel(model, memory.handler);
    await model.fit(data, { epochs: 7, onProgress: (p) => void losses.push(p.losses.total) });
    expect(registeredModels()).toContain('DeepSetsAutoencoder');
    const loaded = await loadModel(memory.handler);
    expect(loaded).toBeInstanceOf(DeepSetsAutoencoder);
    const restored = loaded as DeepSetsAutoencoder;
    expect([restored.step, restored.epoch]).toEqual([20, 5]);
    const resumed: number[] = [];
    await restored.fit(data, { epochs: 7, onProgress: (p) => void resumed.push(p.losses.total) });
    expect(resumed).toEqual(losses);
    expect(weightsOf(restored)).toEqual(weightsOf(model));
    // it learned: the first epoch's mean loss is well above the last one's
    const fresh = new DeepSetsAutoencoder(config);
    const early: number[] = [];
    await fresh.fit(data, { epochs: 1, onProgress: (p) => void early.push(p.losses.total) });
    expect(losses.slice(-4).reduce((a, b) => a + b) / 4).toBeLessThan(
      (0.6 * early.reduce((a, b) => a + b)) / 4,
    );
    disposeBatches(data);
    for (const m of [model, restored, fresh]) m.dispose();
  });

  it('resumes mid-epoch from a per-epoch factory (batches skipped, not re-trained)', async () => {
    const pool = ringSets([6, 4, 5, 3, 6, 5, 4, 6, 5], 9);
    const factory = Object.assign(
      (epoch: number) => [0, 1, 2].map((k) => padded([pool[(epoch + k) % 9], pool[(epoch + 2 * k) % 9]])),
      { stepsPerEpoch: 3 },
    );
    const straight = new DeepSetsAutoencoder(config);
    const all: number[] = [];
    await straight.fit(factory, { epochs: 3, onProgress: (p) => void all.push(p.losses.total) });
    const a = new DeepSetsAutoencoder(config);
    await a.fit(factory, { epochs: 3, steps: 4 }); // stops inside epoch 1
    const memory = memoryHandler();
    await a.save(memory.handler);
    const b = await DeepSetsAutoencoder.load(memory.handler);
    expect(b.trainer.trainingPosition).toMatchObject({ step: 4, epochStep: 1 });
    const rest: number[] = [];
    await b.fit(factory, { epochs: 3, onProgress: (p) => void rest.push(p.losses.total) });
    expect(rest).toEqual(all.slice(4));
    for (const m of [straight, a, b]) m.dispose();
  });

  it('checks the losses before applying: a NaN input or a diverging step names the step and term, changes nothing, leaks nothing', async () => {
    const model = new DeepSetsAutoencoder(config);
    const good = padded(ringSets([6, 4], 2));
    trainStep(model, good);
    const x = tf.tensor3d([0, 0, Number.NaN, 1, 1, 1], [1, 3, 2]);
    const before = weightsOf(model);
    const tensors = tf.memory().numTensors;
    expect(() => model.trainStep(x)).toThrow(NonFiniteBatchError);
    expect(() => model.trainStep(x)).toThrow(
      /batch.x holds NaN at a valid element \[0,1,0\] \(step 1\); no weight was updated/,
    );
    expect(() => model.trainStep(x)).not.toThrow(/expected finite values/);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(weightsOf(model)).toEqual(before);
    expect(model.step).toBe(1);
    // maxLoss: a finite but exploding loss is refused the same way
    expect(() => trainStep(model, good, { maxLoss: 1e-9 })).toThrow(
      /loss term 'total' is .* \(above maxLoss 1e-9\)/,
    );
    expect(weightsOf(model)).toEqual(before);
    tf.dispose([x, good.x, good.mask as tf.Tensor]);
    model.dispose();
  });

  it('releases what the tape kept when a loss throws midway', async () => {
    class Broken extends DeepSetsAutoencoder {
      override loss(batch: TrainBatch): ReturnType<DeepSetsAutoencoder['loss']> {
        const terms = super.loss(batch); // tensors on the tape
        tf.dispose(terms as unknown as tf.TensorContainer);
        throw new DataError('broken: failed after the forward pass');
      }
    }
    const model = new Broken(config);
    const batch = padded(ringSets([6, 4], 2));
    await expectNoLeak(() => expect(() => model.trainStep(batch)).toThrow(/broken/));
    await expectNoLeak(() => expect(() => model.trainStep(batch)).toThrow(/broken/));
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it("fit's divergence policy: 'stop' rejects with the step; 'skip' drops and counts the batch", async () => {
    const data = batches(3, 4);
    const poisoned = padded(ringSets([6, 4, 5], 5), { junk: 0 });
    const nan = { x: tf.mul(poisoned.x, tf.scalar(Number.NaN)) as tf.Tensor3D, mask: poisoned.mask };
    const stream = [data[0], nan, data[1], data[2]];
    const stopping = new DeepSetsAutoencoder(config);
    await expect(stopping.fit(stream, { epochs: 1 })).rejects.toThrow(
      /batch.x holds NaN at a valid element \[0,0,0\] \(step 1\)/,
    );
    const skipping = new DeepSetsAutoencoder(config);
    const result = await skipping.fit(stream, { epochs: 2, onDivergence: 'skip' });
    expect(result).toEqual({ step: 6, epoch: 2, skipped: 2, stoppedBy: 'epochs' });
    await expect(
      skipping.fit([nan], { epochs: 5, onDivergence: 'skip', maxConsecutiveSkips: 3 }),
    ).rejects.toThrow(/3 consecutive batches diverged/);
    disposeBatches([...data, poisoned]);
    nan.x.dispose();
    stopping.dispose();
    skipping.dispose();
  });

  it('fit checks its arguments (unknown keys, wrong types) before any work', async () => {
    const model = new DeepSetsAutoencoder(config);
    const data = batches(1, 1);
    await expect(model.fit(data, { epoch: 2 } as never)).rejects.toThrow(/options.epoch: unknown option/);
    await expect(model.fit(data, { epochs: '2' } as never)).rejects.toThrow(ConfigError);
    await expect(model.fit(data, { onDivergence: 'ignore' } as never)).rejects.toThrow(/onDivergence/);
    await expect(model.fit(42 as never)).rejects.toThrow(/data: expected batches/);
    expect(() => new Trainer(model, { learningrate: 1 } as never)).toThrow(
      /plan.learningrate: unknown option/,
    );
    expect(model.step).toBe(0);
    disposeBatches(data);
    model.dispose();
  });

  it('clips the global gradient norm (PyTorch clip_grad_norm_)', () => {
    const batch = padded(ringSets([6, 4], 2));
    const model = new DeepSetsAutoencoder(config);
    const trainer = new Trainer(model, {
      learningRate: 1,
      clipNorm: 0.01,
      optimizer: (lr) => tf.train.sgd(lr),
    });
    const before = weightsOf(model).flat();
    const { gradientNorm } = trainer.trainStep(batch);
    expect(gradientNorm).toBeGreaterThan(0.01);
    const after = weightsOf(model).flat();
    const moved = Math.sqrt(before.reduce((s, v, i) => s + (v - after[i]) ** 2, 0));
    expect(moved).toBeCloseTo((0.01 * gradientNorm) / (gradientNorm + 1e-6), 5);
    trainer.dispose();
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('reports ‖g‖₂ over all gradients: SGD at learning rate 1 moves the weights by exactly that much', () => {
    const batch = padded(ringSets([6, 4], 3));
    const model = new DeepSetsAutoencoder(config);
    const trainer = new Trainer(model, { learningRate: 1, optimizer: (lr) => tf.train.sgd(lr) });
    const before = weightsOf(model).flat();
    const { gradientNorm } = trainer.trainStep(batch);
    const after = weightsOf(model).flat();
    const moved = Math.sqrt(before.reduce((s, v, i) => s + (v - after[i]) ** 2, 0));
    expect(gradientNorm).toBeGreaterThan(0.01);
    expect(Math.abs(moved - gradientNorm) / gradientNorm).toBeLessThan(1e-5);
    trainer.dispose();
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('trainerOf is the trainer of the model surface; fit() works on any SetModel', async () => {
    const model = new DeepSetsAutoencoder(config);
    const data = batches(2, 3);
    await fit(model, data, { epochs: 1 });
    expect(trainerOf(model).step).toBe(2);
    expect(model.step).toBe(2);
    disposeBatches(data);
    model.dispose();
    expect(() => model.trainStep(data[0])).toThrow(/disposed/);
  });

  it('a checkpoint that does not fit is refused after decoding, leaking nothing and changing nothing', async () => {
    const model = new DeepSetsAutoencoder(config);
    const batch = padded(ringSets([6, 4], 2));
    model.trainStep(batch);
    const weights = model
      .namedWeights()
      .map(({ name, variable }) => ({ name, tensor: variable as tf.Tensor }));
    const optimizer = await model.trainer.optimizer!.getWeights();
    const good: Checkpoint = {
      modelClass: 'DeepSetsAutoencoder',
      config: model.getConfig(),
      training: { step: 1, epoch: 0, epochStep: 0, skipped: 0 },
      weights,
      optimizer,
    };
    const crafted = async (change: Partial<Checkpoint>) => {
      const memory = memoryHandler();
      await writeCheckpoint(memory.handler, { ...good, ...change });
      return memory.handler;
    };
    const other = new DeepSetsAutoencoder({ ...config, hidden: 8 });
    const cases: [Partial<Checkpoint>, RegExp][] = [
      [
        { config: { ...config, hidden: -1 } },
        /invalid config \(config.hidden: expected an integer >= 1, got -1\)/,
      ],
      [{ config: { ...config, hiden: 3 } }, /invalid config \(config.hiden: unknown key\)/],
      [{ modelClass: 'NoSuchModel' }, /holds a NoSuchModel, which is not registered/],
      [
        { weights: other.namedWeights().map(({ name, variable }) => ({ name, tensor: variable })) },
        /weight phi\/kernel has shape \[2,8\], the model expects \[2,16\]/,
      ],
      [{ weights: weights.slice(1) }, /holds 3 model weights, the model has 4/],
      [
        { optimizer: [optimizer[0], ...optimizer.slice(1).reverse()] },
        /optimizer state of 8 slots .* does not fit/,
      ],
      [{ training: { ...good.training, schedule: { learningRate: 1 } } }, /holds schedule state/],
    ];
    const before = weightsOf(model);
    for (const [change, message] of cases) {
      const handler = await crafted(change);
      await expectNoLeak(() => expect(loadModel(handler)).rejects.toThrow(message));
      if (!change.modelClass && !change.config) {
        await expectNoLeak(() => expect(loadWeights(model, handler)).rejects.toThrow(message));
        expect(weightsOf(model)).toEqual(before);
        expect(model.step).toBe(1);
      }
    }
    // a config mismatch names the keys that differ
    const otherSaved = memoryHandler();
    await other.save(otherSaved.handler);
    await expect(model.loadWeights(otherSaved.handler)).rejects.toThrow(
      /config does not match this model's: hidden \(checkpoint 8, this model 16\)$/,
    );
    tf.dispose(optimizer.filter((w) => w.name === 'iter').map((w) => w.tensor));
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
    other.dispose();
  });
}, ['cpu']);
