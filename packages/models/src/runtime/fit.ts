// The fit loop every model shares: epochs of batches from any (async) iterable or a
// per-epoch factory, progress and cancellation, periodic checkpoints, a divergence policy,
// and exact resume (a restored position skips the batches of its epoch already seen).

import { ConfigError, DataError } from '@setgen/ops';
import { checkOptions, is } from '@setgen/ops/internal';
import { dispose, type io, nextFrame, type Tensor } from '@tensorflow/tfjs-core';
import type { TrainBatch } from './set-model.js';
import { DivergenceError, NonFiniteBatchError, type StepResult, type Trainer } from './trainer.js';

/** Batches of one epoch. */
export type BatchSource = Iterable<TrainBatch> | AsyncIterable<TrainBatch>;

/**
 * What `fit` trains on: an array of batches (the caller's: reused every epoch, never
 * disposed), a one-shot (async) iterable (consumed once), or a factory called once per
 * epoch with the epoch's index (e.g. data's `epochBatches`, or
 * `(e) => batches(sets, { batchSize, shuffle: true, seed: s + e })`). Batches taken from
 * a factory or an iterator are disposed by `fit` after their step. A `stepsPerEpoch`
 * property on the factory gives fractional epochs from the first epoch on.
 */
export type FitData =
  | readonly TrainBatch[]
  | BatchSource
  | (((epoch: number) => BatchSource) & { stepsPerEpoch?: number });

/** What `fit` reports after every step. */
export interface TrainProgress {
  /** Steps taken in total (including earlier `fit` calls and restored checkpoints). */
  step: number;
  /** Epochs done, fractional inside an epoch (e.g. 3.25). */
  epoch: number;
  /** The epoch `fit` trains up to. */
  epochs: number;
  /** Batches in one epoch (NaN while the first epoch of a stream is still running). */
  stepsPerEpoch: number;
  /** Loss terms of this step (`total` first). */
  losses: Record<string, number>;
  /** Learning rate used by this step. */
  learningRate: number;
  /** Loss-term weights used by this step (e.g. `{ kl: β }`). */
  weights: Record<string, number>;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
  /** Batches skipped so far as diverging (policy 'skip'). */
  skipped: number;
  /** Steps per second over this `fit` call. */
  stepsPerSecond: number;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Train until this many epochs are done (counting restored progress). Default: the model's plan. */
  epochs?: number;
  /** Stop after this many steps in this call. Default: no limit. */
  steps?: number;
  /** Batches per epoch, when the data cannot tell (a stream); makes epochs fractional from the start. */
  stepsPerEpoch?: number;
  /** Called after every step; may return a promise (awaited). */
  onProgress?: (progress: TrainProgress) => void | Promise<void>;
  /** Aborting stops training after the current step; `fit` then resolves normally. */
  signal?: AbortSignal;
  /**
   * A step whose loss is not finite (or above `maxLoss`), or a batch with non-finite values:
   * 'stop' (default) rejects with the `DivergenceError` / `NonFiniteBatchError`; 'skip'
   * drops the batch, counts it and goes on (at most
   * `maxConsecutiveSkips` in a row, then stops as 'stop' would).
   */
  onDivergence?: 'stop' | 'skip';
  /** Loss terms above this (in absolute value) count as diverging. Default Infinity. */
  maxLoss?: number;
  /** Default 10. */
  maxConsecutiveSkips?: number;
  /** Save a checkpoint every `everySteps` steps and when `fit` ends. */
  checkpoint?: { to: io.IOHandler | string; everySteps: number };
}

/** Where `fit` stopped. */
export interface FitResult {
  step: number;
  epoch: number;
  /** Batches skipped as diverging (policy 'skip'), over the whole training. */
  skipped: number;
  stoppedBy: 'epochs' | 'steps' | 'signal' | 'exhausted';
}

const FIT_OPTIONS = [
  'epochs',
  'steps',
  'stepsPerEpoch',
  'onProgress',
  'signal',
  'onDivergence',
  'maxLoss',
  'maxConsecutiveSkips',
  'checkpoint',
];

function isIterable(value: unknown): value is BatchSource {
  return (
    typeof value === 'object' && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value)
  );
}

function positiveInteger(name: string, value: unknown, min = 1): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= min)) {
    throw new ConfigError(`options.${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
}

/** Checks `fit`'s arguments before any work (unknown keys and wrong types are `ConfigError`s). */
export function checkFitArguments(data: unknown, options: FitOptions): void {
  if (typeof data !== 'function' && !isIterable(data)) {
    throw new ConfigError(
      `data: expected batches ({ x, mask?, ... }[]), an (async) iterable of batches, or a per-epoch factory, got ${
        data === null ? 'null' : typeof data
      }`,
    );
  }
  if (Array.isArray(data) && data.length === 0)
    throw new ConfigError('data: expected at least one batch, got []');
  checkOptions(options, Object.fromEntries(FIT_OPTIONS.map((key) => [key, is.any])), 'options');
  const { epochs, onDivergence, maxLoss, onProgress, signal, checkpoint } = options;
  if (epochs !== undefined && !(typeof epochs === 'number' && epochs > 0 && Number.isFinite(epochs))) {
    throw new ConfigError(`options.epochs: expected a number > 0, got ${JSON.stringify(epochs)}`);
  }
  positiveInteger('steps', options.steps, 0);
  positiveInteger('stepsPerEpoch', options.stepsPerEpoch);
  positiveInteger('maxConsecutiveSkips', options.maxConsecutiveSkips);
  if (onDivergence !== undefined && onDivergence !== 'stop' && onDivergence !== 'skip') {
    throw new ConfigError(
      `options.onDivergence: expected 'stop' | 'skip', got ${JSON.stringify(onDivergence)}`,
    );
  }
  if (maxLoss !== undefined && !(typeof maxLoss === 'number' && maxLoss > 0)) {
    throw new ConfigError(`options.maxLoss: expected a number > 0, got ${JSON.stringify(maxLoss)}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new ConfigError('options.onProgress: expected a function');
  }
  if (signal !== undefined && !(signal && typeof signal.aborted === 'boolean')) {
    throw new ConfigError('options.signal: expected an AbortSignal');
  }
  if (checkpoint !== undefined) {
    if (!checkpoint || typeof checkpoint !== 'object' || !checkpoint.to) {
      throw new ConfigError('options.checkpoint: expected { to: path | IOHandler, everySteps }');
    }
    positiveInteger('checkpoint.everySteps', checkpoint.everySteps);
  }
}

function disposeBatch(batch: TrainBatch): void {
  if (!batch || typeof batch !== 'object') return;
  const tensors = [batch.x, batch.mask, batch.condition, batch.target, batch.targetMask];
  dispose(
    tensors.filter((t): t is Tensor => t !== undefined && t !== null && typeof t.dispose === 'function'),
  );
}

/** Iterates an (async) iterable, closing it if the consumer stops early. */
async function* iterate(source: BatchSource): AsyncGenerator<TrainBatch> {
  if (Symbol.asyncIterator in source) yield* source as AsyncIterable<TrainBatch>;
  else yield* source as Iterable<TrainBatch>;
}

/**
 * Trains with `trainer` from its position up to `options.epochs` epochs. `save` writes a
 * checkpoint (called for `options.checkpoint`). Resumes exactly: the epoch in progress is
 * re-created and its first `epochStep` batches skipped.
 */
export async function fitLoop(
  trainer: Trainer,
  data: FitData,
  options: FitOptions,
  save: (to: io.IOHandler | string) => Promise<void>,
): Promise<FitResult> {
  checkFitArguments(data, options);
  const epochs = options.epochs ?? trainer.epochs;
  const { steps, onProgress, signal, checkpoint, onDivergence = 'stop', maxLoss } = options;
  const maxConsecutiveSkips = options.maxConsecutiveSkips ?? 10;
  const owned = !Array.isArray(data); // batches from factories and iterators are ours to dispose
  const factory = typeof data === 'function' ? data : null;
  let stepsPerEpoch =
    options.stepsPerEpoch ?? (Array.isArray(data) ? data.length : factory?.stepsPerEpoch) ?? Number.NaN;
  const start = performance.now();
  let taken = 0;
  let consecutiveSkips = 0;
  const result = (stoppedBy: FitResult['stoppedBy']): FitResult => ({
    step: trainer.step,
    epoch: trainer.epoch,
    skipped: trainer.trainingPosition.skipped,
    stoppedBy,
  });
  const finish = async (stoppedBy: FitResult['stoppedBy']) => {
    if (checkpoint && taken > 0) await save(checkpoint.to);
    return result(stoppedBy);
  };
  while (trainer.epoch < epochs - 1e-9) {
    const epochIndex = Math.floor(trainer.epoch + 1e-9);
    const position = trainer.trainingPosition;
    // batches of this epoch already consumed (restored checkpoints of older formats: from the fraction)
    const skip =
      position.epochStep > 0 || !Number.isFinite(stepsPerEpoch)
        ? position.epochStep
        : Math.round((trainer.epoch - epochIndex) * stepsPerEpoch);
    const source = factory ? factory(epochIndex) : (data as BatchSource);
    if (!isIterable(source)) {
      throw new ConfigError(
        `data(${epochIndex}): expected the factory to return an (async) iterable of batches`,
      );
    }
    let index = 0;
    let lossSum = 0;
    let lossCount = 0;
    let completed = true;
    try {
      for await (const batch of iterate(source)) {
        try {
          if (index++ < skip) continue;
          if (signal?.aborted) return await finish('signal');
          if (steps !== undefined && taken >= steps) return await finish('steps');
          let step: StepResult | null = null;
          try {
            step = trainer.trainStep(batch, { maxLoss });
            consecutiveSkips = 0;
          } catch (error) {
            const diverged = error instanceof DivergenceError || error instanceof NonFiniteBatchError;
            if (!diverged || onDivergence === 'stop') throw error;
            trainer.countSkipped();
            if (++consecutiveSkips >= maxConsecutiveSkips) {
              throw new DataError(
                `fit: ${consecutiveSkips} consecutive batches diverged (last: ${error.message}); stopping`,
              );
            }
          }
          const epoch = Number.isFinite(stepsPerEpoch)
            ? Math.min(epochs, epochIndex + index / stepsPerEpoch)
            : epochIndex;
          // a finished epoch (by count) restarts at batch 0 of the next one
          trainer.setEpoch(Math.max(trainer.epoch, epoch), index >= stepsPerEpoch ? 0 : index);
          if (!step) continue;
          taken++;
          lossSum += step.losses.total;
          lossCount++;
          if (onProgress) {
            await onProgress({
              step: trainer.step,
              epoch: trainer.epoch,
              epochs,
              stepsPerEpoch,
              ...step,
              skipped: trainer.trainingPosition.skipped,
              stepsPerSecond: taken / ((performance.now() - start) / 1000),
            });
          }
          if (checkpoint && trainer.step % checkpoint.everySteps === 0) await save(checkpoint.to);
        } finally {
          if (owned) disposeBatch(batch);
        }
        if (trainer.epoch >= epochs - 1e-9) {
          completed = false;
          break;
        }
        // let timers and signals fire between steps
        if (taken % 8 === 0) await nextFrame();
      }
    } finally {
      // an epoch's array that a factory made is ours: what we did not reach goes too
      if (factory && Array.isArray(source)) for (const batch of source.slice(index)) disposeBatch(batch);
    }
    if (!completed) break;
    if (index <= skip) {
      if (index === 0 && !factory && !Array.isArray(data)) return finish('exhausted'); // a one-shot iterable ran dry
      throw new DataError(`data: epoch ${epochIndex} has ${index} batches, expected more than ${skip}`);
    }
    if (!Number.isFinite(stepsPerEpoch)) stepsPerEpoch = index;
    if (lossCount > 0) trainer.learningRateSchedule.observe?.(lossSum / lossCount, trainer.trainingPosition);
    trainer.setEpoch(Math.max(trainer.epoch, Math.min(epochs, epochIndex + 1)), 0);
  }
  return finish('epochs');
}
