// The contract between a model and the runtime. A model holds its math (layers, loss,
// sampling); the runtime owns everything every model needs: train step, fit loop,
// schedules, checkpoints. See the models README, "Write your own model".

import type { Optimizer, Scalar, Tensor, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import type { LearningRateSchedule, LossWeightSchedule } from './schedules.js';

/** A minibatch fed to `loss` / `trainStep`. Unused fields are simply absent. */
export interface TrainBatch {
  /** Input sets `[B, N, D]` (autoencoders: also the reconstruction target). */
  x: Tensor3D;
  /** `[B, N]`: 1 element, 0 padding. No mask: every row is an element. */
  mask?: Tensor2D;
  /** Per-example conditioning, e.g. an image `[B, H, W, C]` or a vector `[B, C]`. */
  condition?: Tensor;
  /** Target sets of supervised models `[B, M, D']`. */
  target?: Tensor3D;
  /** `[B, M]` mask of `target`. */
  targetMask?: Tensor2D;
}

/** What the runtime passes to `loss`. */
export interface LossOptions {
  /** Seed of this call's noise; the runtime derives it from (config seed, step). */
  seed?: number;
  /**
   * Weights of named loss terms for this call (e.g. `{ kl: β }` during warm-up). A term
   * not named keeps the model's own default weight.
   */
  weights?: Readonly<Record<string, number>>;
  /** True when called from a training step (models with train/eval differences read it). */
  training?: boolean;
}

/** `total` is what is minimised; every other entry is a named scalar term, reported as is. */
export type LossTerms = { total: Scalar } & Record<string, Scalar>;

/** A weight with a stable checkpoint name. */
export interface NamedVariable {
  name: string;
  variable: Variable;
}

/** What every model implements; the runtime trains, saves and loads anything that does. */
export interface SetModel {
  /** JSON config; `new (ctor)(getConfig())` rebuilds an identical (untrained) model. */
  getConfig(): Record<string, unknown>;
  /** Loss terms of one batch (tensors owned by the caller). Must not update any state. */
  loss(batch: TrainBatch, options?: LossOptions): LossTerms;
  /** Variables the optimizer updates, in a fixed order (optimizer state follows it). */
  readonly trainableVariables: readonly Variable[];
  /** Every weight (trainable or not) with a stable name, in a fixed order. */
  namedWeights(): readonly NamedVariable[];
  /** Model-specific training state, saved with checkpoints as an opaque JSON record. */
  trainingState?(): Record<string, unknown>;
  /** Restores what `trainingState` returned (called by load, before weights are used). */
  restoreTrainingState?(state: Record<string, unknown>): void;
  /** How this model trains by default (learning rate, schedules, optimizer, fit length). */
  trainingPlan?(): TrainingPlan;
  /**
   * How every loss term reduces over the sets of a batch: 'mean' (default) or 'sum'. Data-parallel
   * steps (`shards` > 1) sum the shards' terms and gradients with weights B_s/B ('mean') or 1
   * ('sum'), which equals the whole batch's exactly for terms of that form.
   */
  readonly batchReduction?: 'mean' | 'sum';
  /** Called after each successful optimizer step with the batch it used. */
  afterTrainStep?(batch: TrainBatch): void;
  /** Releases every tensor the model owns. */
  dispose(): void;
}

/** A model class the checkpoint registry can rebuild by its `className`. */
export interface SetModelClass<M extends SetModel = SetModel> {
  readonly className: string;
  new (config: never): M;
  /**
   * The config with every default filled in, as `getConfig()` would return it (optional;
   * lets `loadWeights` compare an older checkpoint's config with a model's, key by key).
   */
  resolveConfig?(config: never): Record<string, unknown>;
}

/** How a model trains: what the runtime needs besides the model's math. Every field is optional. */
export interface TrainingPlan {
  /** A constant learning rate or a schedule (`linearDecay`, `reduceOnPlateau`, …). Default 1e-3. */
  learningRate?: number | LearningRateSchedule;
  /** Weights of named loss terms over training (e.g. `linearWarmup('kl', β, epochs)`). */
  lossWeights?: LossWeightSchedule | readonly LossWeightSchedule[];
  /**
   * Builds the optimizer at the first step, given the learning rate. Its state must travel
   * through `getWeights`/`setWeights` (tfjs optimizers do). Default: Adam(lr, 0.9, 0.999, 1e-8).
   */
  optimizer?: (learningRate: number) => Optimizer;
  /** Clip the global gradient norm to this value (PyTorch's `clip_grad_norm_`). Default: no clipping. */
  clipNorm?: number;
  /** Default length of `fit` in epochs. */
  epochs?: number;
}

/** A layer's weights as checkpoint entries `key/0, key/1, …`, in its `getWeights` order. */
export function layerWeights(key: string, weights: LayerVariable[]): NamedVariable[] {
  return weights.map((w, i) => ({ name: `${key}/${i}`, variable: w.read() as Variable }));
}
