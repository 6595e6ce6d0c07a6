// The common surface of every model (API.md: trainStep, fit, save, static load, dispose),
// delegated to the runtime, so a model file holds only its math: extend
// `TrainableSetModel`, implement `getConfig`, `loss`, `namedWeights` and `disposeWeights`
// (and `trainableVariables` only if the optimizer's order differs from `namedWeights`'s),
// and call `registerModel(YourModel)`.

import { ConfigError, type SetLike } from '@setgen/ops';
import { isTensor } from '@setgen/ops/internal';
import type { io, Optimizer, Variable } from '@tensorflow/tfjs-core';
import { type FitData, type FitOptions, type FitResult, fitLoop } from './fit.js';
import { disposeTrainer, loadModel, loadWeights, saveModel, trainerOf } from './registry.js';
import type {
  LossOptions,
  LossTerms,
  NamedVariable,
  SetModel,
  SetModelClass,
  TrainBatch,
} from './set-model.js';
import type { StepResult, Trainer, TrainStepOptions } from './trainer.js';

/** A bare `[B, N, D]` tensor is a batch without padding. */
function asTrainBatch(batch: TrainBatch | SetLike): TrainBatch {
  return isTensor(batch) ? { x: batch as TrainBatch['x'] } : (batch as TrainBatch);
}

/** One optimisation step of any model (its trainer's optimizer unless `options.optimizer`). */
export function trainStep(
  model: SetModel,
  batch: TrainBatch | SetLike,
  options?: TrainStepOptions,
): StepResult {
  return trainerOf(model).trainStep(asTrainBatch(batch), options);
}

/** Trains any model on `data` (batches, a stream, or a per-epoch factory); see `FitOptions`. */
export function fit(model: SetModel, data: FitData, options: FitOptions = {}): Promise<FitResult> {
  return fitLoop(trainerOf(model), data, options, (to) => saveModel(model, to));
}

/** A model with the runtime's training and checkpoint surface. */
export abstract class TrainableSetModel implements SetModel {
  private disposed = false;

  abstract getConfig(): Record<string, unknown>;
  abstract loss(batch: TrainBatch, options?: LossOptions): LossTerms;
  /**
   * The variables the optimizer updates, in a fixed order (its moments follow it). Default:
   * the trainable ones of `namedWeights()`, in checkpoint order.
   */
  get trainableVariables(): Variable[] {
    return this.namedWeights()
      .map((w) => w.variable)
      .filter((v) => v.trainable);
  }
  abstract namedWeights(): readonly NamedVariable[];
  /** Frees the model's own weights (the runtime frees the optimizer state). */
  protected abstract disposeWeights(): void;

  /** Throws a `ConfigError` if the model was disposed. */
  protected checkAlive(): void {
    if (this.disposed) throw new ConfigError(`${this.constructor.name}: this model has been disposed`);
  }

  /** The runtime's trainer of this model (optimizer, position, schedules). */
  get trainer(): Trainer {
    this.checkAlive();
    return trainerOf(this);
  }

  /** Steps taken by `trainStep` (restored by `load`). */
  get step(): number {
    return this.trainer.step;
  }

  /** Epochs done, fractional inside an epoch; drives the schedules. */
  get epoch(): number {
    return this.trainer.epoch;
  }

  /** Moves the schedules' position (`fit` does it; set it yourself in a custom loop). */
  setEpoch(epoch: number): void {
    this.trainer.setEpoch(epoch);
  }

  /**
   * One optimisation step on `batch` with the model's own optimizer and schedules, or with
   * `optimizer` (its learning rate left as it is). Returns the loss terms as numbers.
   */
  trainStep(batch: TrainBatch | SetLike, optimizer?: Optimizer): StepResult {
    this.checkAlive();
    return trainStep(this, batch, { optimizer });
  }

  /** Trains from the current position up to `options.epochs`; resumes exactly after `load`. */
  fit(data: FitData, options: FitOptions = {}): Promise<FitResult> {
    this.checkAlive();
    return fit(this, data, options);
  }

  /** Saves config, weights, optimizer state and position (a directory needs `@setgen/models/node`). */
  save(handlerOrPath: io.IOHandler | string): Promise<void> {
    this.checkAlive();
    return saveModel(this, handlerOrPath);
  }

  /** A new model of this class from a checkpoint. Throws `DataError` if it is malformed. */
  static load<M extends SetModel>(this: SetModelClass<M>, handlerOrPath: io.IOHandler | string): Promise<M> {
    // `this` is the subclass the call was made on (SetVAE.load → a SetVAE)
    // biome-ignore lint/complexity/noThisInStatic: the subclass is the point
    return loadModel(handlerOrPath, this);
  }

  /** Loads a checkpoint into this model; refuses, changing nothing, another class or config. */
  loadWeights(handlerOrPath: io.IOHandler | string): Promise<void> {
    this.checkAlive();
    return loadWeights(this, handlerOrPath);
  }

  /** Number of trainable parameters. */
  countParams(): number {
    return this.trainableVariables.reduce((n, v) => n + v.size, 0);
  }

  /** Frees every weight and the optimizer state; later calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeTrainer(this);
    this.disposeWeights();
  }
}
