// Schedules as plain hooks: a learning-rate schedule maps the training position to the
// learning rate; a loss-weight schedule maps it to weights of named loss terms (β warm-up
// is `linearWarmup('kl', β, epochs)`). The runtime calls them before every step; a
// schedule that learns from the losses (reduce-on-plateau) also observes each epoch's
// mean loss and carries its state in checkpoints.

import { ConfigError } from '@setgen/ops';
import { checkNumber } from '@setgen/ops/internal';

/** Where training is: steps taken and epochs done (fractional inside an epoch). */
export interface SchedulePosition {
  step: number;
  epoch: number;
}

/** position → learning rate. */
export interface LearningRateSchedule {
  (position: SchedulePosition): number;
  /** Sees the mean total loss of every finished epoch (reduce-on-plateau reads it). */
  observe?: (epochLoss: number, position: SchedulePosition) => void;
  /** JSON state saved in checkpoints (schedules that learn from the losses). */
  state?: () => Record<string, unknown>;
  /** Restores what `state` returned, when a checkpoint is loaded. */
  restore?: (state: Record<string, unknown>) => void;
}

/** position → weights of named loss terms, e.g. `{ kl: 0.004 }`. */
export type LossWeightSchedule = (position: SchedulePosition) => Record<string, number>;

/** A finite number ≥ `min` (> `min` when `exclusiveMin`), or `ConfigError` naming it. */
function checkAtLeast(name: string, value: unknown, min: number, exclusiveMin = false): number {
  const checked = checkNumber(value, name, { min });
  if (exclusiveMin && checked === min) checkNumber(value, name, { min, positive: min === 0 });
  return checked;
}

/** The learning rate `learningRate` at every step. */
export function constantLearningRate(learningRate: number): LearningRateSchedule {
  const lr = checkAtLeast('learningRate', learningRate, 0);
  return () => lr;
}

/**
 * `learningRate` for the first `after` fraction of `totalEpochs`, then linear to 0 at
 * `totalEpochs` (SetVAE App. D: "decayed linearly to zero after 50% of the schedule").
 */
export function linearDecay(
  learningRate: number,
  { totalEpochs, after = 0.5 }: { totalEpochs: number; after?: number },
): LearningRateSchedule {
  const lr = checkAtLeast('learningRate', learningRate, 0);
  checkAtLeast('totalEpochs', totalEpochs, 0, true);
  if (!(checkAtLeast('after', after, 0) < 1))
    throw new ConfigError(`after: expected a fraction in [0, 1), got ${after}`);
  const start = totalEpochs * after;
  const span = totalEpochs - start;
  return ({ epoch }) => lr * Math.max(0, 1 - Math.max(0, epoch - start) / span);
}

/** Options of `reduceOnPlateau` (PyTorch's `ReduceLROnPlateau`, mode 'min', relative threshold). */
export interface ReduceOnPlateauOptions {
  /** Multiplies the learning rate on a plateau. Default 0.5 (Top-n). */
  factor?: number;
  /** Epochs without improvement before reducing. Default 10. */
  patience?: number;
  /** Improvement means loss < best · (1 − threshold). Default 1e-4. */
  threshold?: number;
  /** Epochs to wait after a reduction. Default 0. */
  cooldown?: number;
  /** Floor of the learning rate. Default 0. */
  minLearningRate?: number;
}

/**
 * Starts at `learningRate` and multiplies it by `factor` whenever the epoch's mean loss has
 * not improved for more than `patience` epochs (Top-n: factor 0.5, patience 750, floor 1e-6,
 * on the training loss). Its state travels in checkpoints.
 */
export function reduceOnPlateau(
  learningRate: number,
  options: ReduceOnPlateauOptions = {},
): LearningRateSchedule {
  const lr0 = checkAtLeast('learningRate', learningRate, 0);
  const factor = checkAtLeast('options.factor', options.factor ?? 0.5, 0, true);
  if (factor >= 1) throw new ConfigError(`options.factor: expected a number in (0, 1), got ${factor}`);
  const patience = checkAtLeast('options.patience', options.patience ?? 10, 0);
  const threshold = checkAtLeast('options.threshold', options.threshold ?? 1e-4, 0);
  const cooldown = checkAtLeast('options.cooldown', options.cooldown ?? 0, 0);
  const floor = checkAtLeast('options.minLearningRate', options.minLearningRate ?? 0, 0);
  let state = { learningRate: lr0, best: Number.POSITIVE_INFINITY, badEpochs: 0, cooldownLeft: 0 };
  const schedule: LearningRateSchedule = () => state.learningRate;
  schedule.observe = (loss) => {
    if (!Number.isFinite(loss)) return;
    if (loss < state.best * (1 - threshold)) {
      state.best = loss;
      state.badEpochs = 0;
    } else state.badEpochs++;
    if (state.cooldownLeft > 0) {
      state.cooldownLeft--;
      state.badEpochs = 0;
    }
    if (state.badEpochs > patience) {
      const next = Math.max(state.learningRate * factor, floor);
      if (state.learningRate - next > 1e-8) state.learningRate = next;
      state.cooldownLeft = cooldown;
      state.badEpochs = 0;
    }
  };
  schedule.state = () => ({ ...state, best: Number.isFinite(state.best) ? state.best : null });
  schedule.restore = (saved) => {
    const { learningRate: l, best, badEpochs, cooldownLeft } = saved as Record<string, unknown>;
    const ok =
      typeof l === 'number' &&
      l >= 0 &&
      (best === null || typeof best === 'number') &&
      Number.isInteger(badEpochs) &&
      Number.isInteger(cooldownLeft);
    if (!ok)
      throw new ConfigError(
        `reduceOnPlateau state: expected { learningRate, best, badEpochs, cooldownLeft }, got ${JSON.stringify(saved)}`,
      );
    state = {
      learningRate: l as number,
      best: best === null ? Number.POSITIVE_INFINITY : (best as number),
      badEpochs: badEpochs as number,
      cooldownLeft: cooldownLeft as number,
    };
  };
  return schedule;
}

/** Weight of loss term `term` rising linearly from 0 to `target` over `epochs` (0 = `target` from the start). */
export function linearWarmup(term: string, target: number, epochs: number): LossWeightSchedule {
  if (typeof term !== 'string' || term.length === 0)
    throw new ConfigError(`term: expected a loss-term name, got ${JSON.stringify(term)}`);
  checkAtLeast('target', target, 0);
  checkAtLeast('epochs', epochs, 0);
  return ({ epoch }) => ({
    [term]: epochs <= 0 ? target : target * Math.min(1, Math.max(0, epoch) / epochs),
  });
}
