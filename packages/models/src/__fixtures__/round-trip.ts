// save → load through the runtime's checkpoint format, in memory: the round-trip test every
// model's test file runs (train a few steps, save, load, same class, same step, identical
// predictions).
import { expectClose } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { loadModel, saveModel } from '../runtime/registry.js';
import { memoryHandler } from './memory-handler.js';
import type { SetModel, TrainBatch } from '../runtime/set-model.js';
import type { TrainableSetModel } from '../runtime/trainable-set-model.js';

/** `saveModel` into memory, then `loadModel` from it. */
export async function saveAndLoad(model: SetModel): Promise<SetModel> {
  const memory = memoryHandler();
  await saveModel(model, memory.handler);
  return loadModel(memory.handler);
}

/**
 * Trains `model` for `steps` steps on `batch`, saves and loads it, and expects the loaded
 * model to be of the same class, at the same step, with bit-identical `predict(m)` tensors.
 * Disposes the loaded model and every prediction (not `model` or `batch`).
 */
export async function expectIdenticalAfterRoundTrip<M extends TrainableSetModel>(
  model: M,
  batch: TrainBatch,
  predict: (m: M) => tf.Tensor[],
  steps = 2,
): Promise<void> {
  for (let i = 0; i < steps; i++) model.trainStep(batch);
  const loaded = (await saveAndLoad(model)) as M;
  try {
    expect(loaded).toBeInstanceOf(model.constructor);
    expect(loaded.step).toBe(steps);
    const a = predict(model);
    const b = predict(loaded);
    expect(b.length).toBe(a.length);
    a.forEach((t, i) => {
      expect(b[i].shape).toEqual(t.shape);
      expectClose(b[i].dataSync(), t.dataSync(), { rtol: 0, atol: 0 });
    });
    tf.dispose([...a, ...b]);
  } finally {
    loaded.dispose();
  }
}
