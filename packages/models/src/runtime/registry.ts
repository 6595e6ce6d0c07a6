// Save and load any model: a registry of model classes keyed by `className`, so
// `loadModel` rebuilds the right class from a checkpoint, and the checks that keep a bad
// checkpoint from touching a live model (names, shapes, optimizer state, config).

import { ConfigError, DataError, formatShape } from '@setgen/ops';
import { dispose, type io, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { type LoadedCheckpoint, readCheckpoint, resolveHandler, writeCheckpoint } from './checkpoint.js';
import type { SetModel, SetModelClass } from './set-model.js';
import { Trainer } from './trainer.js';

const registry = new Map<string, SetModelClass>();
const trainers = new WeakMap<SetModel, Trainer>();

/** Makes `loadModel` able to rebuild `modelClass` (call it once, beside the class). */
export function registerModel(modelClass: SetModelClass): void {
  const name = modelClass?.className;
  if (typeof modelClass !== 'function' || typeof name !== 'string' || name.length === 0) {
    throw new ConfigError('registerModel: expected a class with a static className');
  }
  const known = registry.get(name);
  if (known && known !== modelClass)
    throw new ConfigError(`registerModel: another class is registered as '${name}'`);
  registry.set(name, modelClass);
}

/** Class names `loadModel` can rebuild. */
export function registeredModels(): string[] {
  return [...registry.keys()].sort();
}

/** The class registered as `className`, or undefined (data-parallel workers rebuild replicas with it). */
export function registeredModel(className: string): SetModelClass | undefined {
  return registry.get(className);
}

/** The `Trainer` of `model` (created on first use from `model.trainingPlan()`). */
export function trainerOf(model: SetModel): Trainer {
  let trainer = trainers.get(model);
  if (!trainer) {
    trainer = new Trainer(model);
    trainers.set(model, trainer);
  }
  return trainer;
}

/** Frees the trainer of `model` (its optimizer state), if it has one. */
export function disposeTrainer(model: SetModel): void {
  trainers.get(model)?.dispose();
  trainers.delete(model);
}

export function classOf(model: SetModel): SetModelClass {
  const modelClass = model?.constructor as SetModelClass | undefined;
  if (!modelClass || typeof modelClass.className !== 'string') {
    throw new ConfigError('model: expected a SetModel whose class has a static className');
  }
  return modelClass;
}

/**
 * Saves a model's config, weights, optimizer state and training position through a tf.io
 * handler or to a directory (paths need `@setgen/models/node`; the file-system save is
 * atomic). Refuses to write non-finite weights.
 */
export async function saveModel(model: SetModel, handlerOrPath: io.IOHandler | string): Promise<void> {
  const modelClass = classOf(model);
  const handler = resolveHandler(handlerOrPath, 'save');
  const trainer = trainers.get(model);
  const optimizerWeights = trainer?.optimizer ? await trainer.optimizer.getWeights() : [];
  try {
    await writeCheckpoint(handler, {
      modelClass: modelClass.className,
      config: model.getConfig(),
      training: {
        ...(trainer?.trainingPosition ?? { step: 0, epoch: 0, epochStep: 0, skipped: 0 }),
        schedule: trainer?.learningRateSchedule.state?.(),
        model: model.trainingState?.(),
      },
      weights: model.namedWeights().map(({ name, variable }) => ({ name, tensor: variable })),
      optimizer: optimizerWeights,
    });
  } finally {
    // `iter` is a fresh scalar; the moments are the optimizer's own variables
    dispose(optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor));
  }
}

/** Which config keys differ (top level), for messages. */
function configDifference(mine: Record<string, unknown>, theirs: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])];
  return keys
    .filter((k) => JSON.stringify(mine[k]) !== JSON.stringify(theirs[k]))
    .map((k) => `${k} (checkpoint ${JSON.stringify(theirs[k])}, this model ${JSON.stringify(mine[k])})`);
}

/**
 * Optimizer state is an optional `iter` and G equal groups of slots (Adam: first and second
 * moments), each following the trainable variables in order (variables without a gradient
 * have no slot): every group must fit the model's variables by shape.
 */
function checkOptimizerState(
  state: { name: string; tensor: Tensor }[],
  variables: readonly Variable[],
): void {
  const slots = state.filter((w) => w.name !== 'iter');
  if (slots.length === 0) return;
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, k) => d === b[k]);
  const fits = (group: { tensor: Tensor }[]) => {
    let v = 0;
    for (const { tensor } of group) {
      while (v < variables.length && !same(variables[v].shape, tensor.shape)) v++;
      if (v++ >= variables.length) return false;
    }
    return true;
  };
  for (let groups = 1; groups <= 4; groups++) {
    if (slots.length % groups !== 0) continue;
    const size = slots.length / groups;
    const parts = Array.from({ length: groups }, (_, g) => slots.slice(g * size, (g + 1) * size));
    const shapesAgree = parts.every((p) => p.every((w, i) => same(w.tensor.shape, parts[0][i].tensor.shape)));
    if (shapesAgree && fits(parts[0])) return;
  }
  throw new DataError(
    `checkpoint: optimizer state of ${slots.length} slots (first ${slots[0].name} ${formatShape(slots[0].tensor.shape)}) does not fit the model's ${variables.length} variables`,
  );
}

/**
 * Checks a loaded checkpoint against `model`, then writes weights, model state and
 * training position into it. Nothing changes if a check fails. Disposes no tensor.
 */
async function restoreInto(model: SetModel, checkpoint: LoadedCheckpoint): Promise<void> {
  const named = model.namedWeights();
  const names = Object.keys(checkpoint.weights);
  if (names.length !== named.length) {
    throw new DataError(`checkpoint: holds ${names.length} model weights, the model has ${named.length}`);
  }
  for (const { name, variable } of named) {
    const t = checkpoint.weights[name];
    if (!t) throw new DataError(`checkpoint: weight ${name} is missing`);
    if (!(t.shape.length === variable.shape.length && t.shape.every((d, i) => d === variable.shape[i]))) {
      throw new DataError(
        `checkpoint: weight ${name} has shape ${formatShape(t.shape)}, the model expects ${formatShape(variable.shape)}`,
      );
    }
    if (t.dtype !== variable.dtype)
      throw new DataError(`checkpoint: weight ${name} is ${t.dtype}, the model expects ${variable.dtype}`);
  }
  checkOptimizerState(checkpoint.optimizer, model.trainableVariables);
  const { model: modelState, schedule, ...position } = checkpoint.training;
  const trainer = trainerOf(model);
  // the opaque records are checked by their owners (the model's first: it holds the most)
  if (modelState !== undefined || model.restoreTrainingState) {
    try {
      model.restoreTrainingState?.(modelState ?? {});
    } catch (error) {
      throw new DataError(`checkpoint: invalid training state (${(error as Error).message})`);
    }
  }
  if (schedule) {
    if (!trainer.learningRateSchedule.restore)
      throw new DataError(
        "checkpoint: holds schedule state, but the model's learning-rate schedule keeps none",
      );
    try {
      trainer.learningRateSchedule.restore(schedule);
    } catch (error) {
      throw new DataError(`checkpoint: invalid schedule state (${(error as Error).message})`);
    }
  }
  for (const { name, variable } of named) variable.assign(checkpoint.weights[name]);
  await trainer.restore(position, checkpoint.optimizer);
}

function decodedTensors(checkpoint: LoadedCheckpoint): Tensor[] {
  return [...Object.values(checkpoint.weights), ...checkpoint.optimizer.map((w) => w.tensor)];
}

/**
 * A model from a checkpoint written by `saveModel` (or a model's `save`), of the class
 * named in it (which must be registered). `expected`: refuse any other class.
 */
export async function loadModel<M extends SetModel = SetModel>(
  handlerOrPath: io.IOHandler | string,
  expected?: SetModelClass<M>,
): Promise<M> {
  const handler = resolveHandler(handlerOrPath, 'load');
  const checkpoint = await readCheckpoint(handler);
  let model: M | null = null;
  try {
    if (expected && checkpoint.modelClass !== expected.className) {
      throw new DataError(`checkpoint: holds a ${checkpoint.modelClass}, expected a ${expected.className}`);
    }
    const modelClass = (expected ?? registry.get(checkpoint.modelClass)) as SetModelClass<M> | undefined;
    if (!modelClass) {
      throw new DataError(
        `checkpoint: holds a ${checkpoint.modelClass}, which is not registered (registered: ${registeredModels().join(', ') || 'none'}); import its module or call registerModel`,
      );
    }
    try {
      model = new modelClass(checkpoint.config as never);
    } catch (error) {
      if (error instanceof ConfigError) throw new DataError(`checkpoint: invalid config (${error.message})`);
      throw error;
    }
    await restoreInto(model, checkpoint);
    return model;
  } catch (error) {
    (model as M | null)?.dispose();
    throw error;
  } finally {
    dispose(decodedTensors(checkpoint));
  }
}

/**
 * Loads a checkpoint into `model` (weights, optimizer, position). Refuses, changing
 * nothing, a checkpoint of another class or config (naming the keys that differ).
 */
export async function loadWeights(model: SetModel, handlerOrPath: io.IOHandler | string): Promise<void> {
  const modelClass = classOf(model);
  const handler = resolveHandler(handlerOrPath, 'load');
  const checkpoint = await readCheckpoint(handler);
  try {
    if (checkpoint.modelClass !== modelClass.className) {
      throw new DataError(`checkpoint: holds a ${checkpoint.modelClass}, expected a ${modelClass.className}`);
    }
    let theirs = checkpoint.config;
    try {
      theirs = modelClass.resolveConfig?.(theirs as never) ?? theirs;
    } catch (error) {
      throw new DataError(`checkpoint: invalid config (${(error as Error).message})`);
    }
    const differences = configDifference(model.getConfig(), theirs);
    if (differences.length > 0) {
      throw new DataError(`checkpoint: config does not match this model's: ${differences.join('; ')}`);
    }
    await restoreInto(model, checkpoint);
  } finally {
    dispose(decodedTensors(checkpoint));
  }
}
