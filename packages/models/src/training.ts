// The training loop shared by the models: epochs of shuffled, padded minibatches, a
// progress callback with the loss terms and speed, cancellation through an AbortSignal,
// and resumable positions (a fractional epoch skips the batches already seen).

import { batches, type SetDataset } from '@setgen/data';
import { ConfigError, type HostSet, type SetBatch } from '@setgen/ops';
import { nextFrame } from '@tensorflow/tfjs-core';

/** What `fit` reports after every step. */
export interface TrainProgress {
  /** Steps taken in total (including earlier `fit` calls and restored checkpoints). */
  step: number;
  /** Epochs done, fractional inside an epoch (e.g. 3.25). */
  epoch: number;
  /** The epoch `fit` trains up to. */
  epochs: number;
  /** Steps in one epoch. */
  stepsPerEpoch: number;
  /** Loss terms of this step (e.g. total, recon, kl, kl0 … for SetVAE). */
  losses: Record<string, number>;
  /** Learning rate and KL weight used by this step. */
  learningRate: number;
  beta: number;
  /** Steps per second over this `fit` call. */
  stepsPerSecond: number;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Train until this many epochs are done (counting restored progress). Default: the config's `epochs`. */
  epochs?: number;
  /** Stop after this many steps in this call (default: no limit). */
  steps?: number;
  /** Minibatch size. Default: the config's `batchSize`. */
  batchSize?: number;
  /** Called after every step; may return a promise (awaited). */
  onProgress?: (progress: TrainProgress) => void | Promise<void>;
  /** Aborting stops training after the current step; `fit` then resolves normally. */
  signal?: AbortSignal;
}

/** Where `fit` stopped. */
export interface FitResult {
  step: number;
  epoch: number;
  /** Why it stopped. */
  stoppedBy: 'epochs' | 'steps' | 'signal';
}

/** The minimal surface `fitLoop` trains. */
export interface TrainableModel {
  /** Optimisation steps taken so far. */
  readonly step: number;
  /** Current (fractional) epoch. */
  readonly epoch: number;
  /** Sets the (fractional) epoch that schedules read. */
  setEpoch(epoch: number): void;
  /** One optimisation step on a batch; returns the losses and the schedule's values at that step. */
  trainStep(batch: SetBatch): { losses: Record<string, number>; learningRate: number; beta: number };
}

/** Checks `fit`'s arguments before any work. */
export function checkFitOptions(
  data: SetDataset | readonly HostSet[],
  options: FitOptions,
  batchSize: number,
  epochs: number,
): readonly HostSet[] {
  const sets = Array.isArray(data) ? data : (data as SetDataset | undefined)?.sets;
  if (!Array.isArray(sets) || sets.length === 0) {
    throw new ConfigError(
      `data: expected a non-empty SetDataset or HostSet[], got ${Array.isArray(sets) ? 'no sets' : typeof data}`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`options.batchSize: expected a positive integer, got ${JSON.stringify(batchSize)}`);
  }
  if (!(typeof epochs === 'number' && epochs > 0 && Number.isFinite(epochs))) {
    throw new ConfigError(`options.epochs: expected a number > 0, got ${JSON.stringify(epochs)}`);
  }
  if (options.steps !== undefined && !(Number.isInteger(options.steps) && options.steps >= 0)) {
    throw new ConfigError(
      `options.steps: expected a non-negative integer, got ${JSON.stringify(options.steps)}`,
    );
  }
  return sets;
}

/**
 * Trains `model` on `data` from its current position up to `epochs` (SetVAE App. D:
 * shuffled minibatches every epoch). Epoch e's shuffle is seeded with `seed + e`, so a
 * restored model continues with exactly the batches it would have seen.
 */
export async function fitLoop(
  model: TrainableModel,
  data: readonly HostSet[],
  {
    epochs,
    batchSize,
    steps,
    onProgress,
    signal,
    seed,
  }: Required<Pick<FitOptions, 'epochs' | 'batchSize'>> & FitOptions & { seed: number },
): Promise<FitResult> {
  const stepsPerEpoch = Math.ceil(data.length / batchSize);
  const start = performance.now();
  let taken = 0;
  while (model.epoch < epochs - 1e-9) {
    const epochIndex = Math.floor(model.epoch + 1e-9);
    const skip = Math.round((model.epoch - epochIndex) * stepsPerEpoch);
    let index = 0;
    for await (const batch of batches(data, { batchSize, shuffle: true, seed: seed + epochIndex })) {
      try {
        if (index++ < skip) continue;
        if (signal?.aborted) return { step: model.step, epoch: model.epoch, stoppedBy: 'signal' };
        if (steps !== undefined && taken >= steps)
          return { step: model.step, epoch: model.epoch, stoppedBy: 'steps' };
        const result = model.trainStep(batch);
        taken++;
        model.setEpoch(Math.min(epochs, epochIndex + index / stepsPerEpoch));
        if (onProgress) {
          await onProgress({
            step: model.step,
            epoch: model.epoch,
            epochs,
            stepsPerEpoch,
            losses: result.losses,
            learningRate: result.learningRate,
            beta: result.beta,
            stepsPerSecond: taken / ((performance.now() - start) / 1000),
          });
        }
      } finally {
        batch.x.dispose();
        batch.mask?.dispose();
      }
      if (model.epoch >= epochs - 1e-9) break;
      // let timers and signals fire between steps
      if (taken % 8 === 0) await nextFrame();
    }
    model.setEpoch(Math.max(model.epoch, Math.min(epochs, epochIndex + 1)));
  }
  return { step: model.step, epoch: model.epoch, stoppedBy: 'epochs' };
}
