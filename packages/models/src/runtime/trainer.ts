// The train step every model shares: loss → gradients → (checks, clipping) → optimizer.
// A `Trainer` holds what training adds to a model: the optimizer and its state, the
// position (step, epoch) and the schedules. Nothing is applied before every loss term and
// the gradient norm are known to be finite, and every error path releases the tensors the
// gradient tape kept.

import { asSetBatch, ConfigError, DataError } from '@setgen/ops';
import { tensorMemory, withSharedClones } from '@setgen/ops/internal';
import {
  concat,
  dispose,
  engine,
  getBackend,
  keep,
  mul,
  type NamedTensorMap,
  type Optimizer,
  reshape,
  type Scalar,
  scalar,
  sqrt,
  square,
  stack,
  sum,
  type Tensor,
  tensor,
  tidy,
  type Variable,
  variableGrads,
} from '@tensorflow/tfjs-core';
import { ScheduledAdam } from '../scheduled-adam.js';
import type { LearningRateSchedule, LossWeightSchedule, SchedulePosition } from './schedules.js';
import { constantLearningRate } from './schedules.js';
import { configSeed, stepSeed } from './seeds.js';
import type { SetModel, TrainBatch, TrainingPlan } from './set-model.js';
import {
  batchTensors,
  checkedLoss,
  combineShards,
  computeShard,
  MAX_SHARDS,
  releaseTape,
  type ShardResult,
  shardBounds,
  shardSeed,
  sliceBatch,
} from './shards.js';

/** What one training step reports. */
export interface StepResult {
  /** Loss terms as numbers, `total` first. */
  losses: Record<string, number>;
  /** Learning rate used by this step (NaN if the optimizer does not expose one). */
  learningRate: number;
  /** Loss-term weights used by this step (from the plan's `lossWeights`). */
  weights: Record<string, number>;
  /** Global L2 norm of the gradients before clipping. */
  gradientNorm: number;
}

/**
 * A step whose loss (or gradient) is not finite, or exceeds `maxLoss`. Thrown before the
 * optimizer runs: weights and optimizer state are unchanged.
 */
export class DivergenceError extends DataError {
  constructor(
    /** The step that failed (0-based: steps taken before it). */
    readonly step: number,
    /** The loss term (or 'gradient norm') that was not finite / too large. */
    readonly term: string,
    readonly value: number,
    limit = Number.POSITIVE_INFINITY,
    cause?: string,
  ) {
    const what =
      term === 'model output'
        ? `the model's output is not finite (inside the loss: ${cause})`
        : `the ${term === 'gradient norm' ? 'gradient norm' : `loss term '${term}'`} is ${value}` +
          `${Number.isFinite(value) ? ` (above maxLoss ${limit})` : ''}`;
    super(`trainStep: at step ${step} ${what}: the model diverged; no weight was updated`);
  }
}

/** A batch holding NaN or ±Infinity at a valid element (padding may hold anything). */
export class NonFiniteBatchError extends DataError {
  constructor(
    readonly step: number,
    readonly field: string,
    readonly value: number,
    readonly index: number[],
  ) {
    super(
      `trainStep: batch.${field} holds ${value} at a valid element [${index.join(',')}] (step ${step}); ` +
        'no weight was updated',
    );
  }
}

/** Index of the first non-finite value of `t` outside masked-out rows (mask `[B, N]` over t's first two axes). */
function firstNonFinite(t: Tensor, mask: Tensor | undefined): number[] | null {
  const values = t.dataSync();
  const valid = mask?.dataSync();
  const rowSize = t.shape.slice(2).reduce((a, b) => a * b, 1);
  for (let k = 0; k < values.length; k++) {
    if (Number.isFinite(values[k])) continue;
    const row = Math.floor(k / rowSize);
    if (valid && !(valid[row] > 0.5)) continue;
    let rest = k;
    return t.shape.map((_, axis) => {
      const stride = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const i = Math.floor(rest / stride);
      rest -= i * stride;
      return i;
    });
  }
  return null;
}

/** Checks the batch's values on the host (valid elements only), before any tensor work. */
function checkFiniteBatch(batch: TrainBatch, step: number): void {
  const fields: [string, Tensor | undefined, Tensor | undefined][] = [
    ['x', batch.x, batch.mask],
    ['condition', batch.condition, undefined],
    ['target', batch.target, batch.targetMask],
  ];
  for (const [field, t, mask] of fields) {
    if (t?.dtype !== 'float32') continue;
    const index = firstNonFinite(t, t.rank >= 2 ? mask : undefined);
    if (index) {
      const flat = index.reduce((acc, i, axis) => acc * t.shape[axis] + i, 0);
      throw new NonFiniteBatchError(step, field, t.dataSync()[flat], index);
    }
  }
}

/** Where training stands; saved in checkpoints. */
export interface TrainingPosition extends SchedulePosition {
  /** Batches of the current epoch already consumed by `fit` (trained or skipped). */
  epochStep: number;
  /** Batches `fit` skipped as diverging (policy 'skip'). */
  skipped: number;
  /**
   * Shards each step's batch is cut into (data-parallel steps; absent: 1). Part of what a run
   * resumes with: a checkpoint keeps it and `load` restores it, so a resumed run computes the
   * same steps (on this thread until `dataParallel` gives it workers again).
   */
  shards?: number;
}

/** One data-parallel step as a `ShardRunner` sees it. */
export interface ShardJob {
  /** The whole batch (checked, finite). */
  batch: TrainBatch;
  /** Shard s is sets `bounds[s] .. bounds[s + 1]` (an empty shard is skipped). */
  bounds: readonly number[];
  /** The step's seed (shard s draws from `shardSeed(seed, s)`). */
  seed: number;
  /** Loss-term weights of this step. */
  weights: Readonly<Record<string, number>>;
}

/**
 * Places the shards of a step: computes some elsewhere (worker threads) and calls `inline(s)`
 * for the rest; returns every non-empty shard's result by index. Where a shard runs must not
 * change its result.
 */
export interface ShardRunner {
  /** Computes the shards of `job`, some perhaps with `inline(s)`; null for a shard left to the trainer. */
  run(job: ShardJob, inline: (s: number) => ShardResult): (ShardResult | null)[];
  /** Frees what the runner holds (worker threads); called when it is replaced or the trainer disposed. */
  dispose?(): void;
}

/** Options of `Trainer.trainStep`. */
export interface TrainStepOptions {
  /** Use this optimizer instead of the trainer's own (its learning rate is left as it is). */
  optimizer?: Optimizer;
  /** A step whose loss terms exceed this in absolute value is refused as diverging. Default Infinity. */
  maxLoss?: number;
}

/** An optimizer's learning rate (a protected field of every tfjs optimizer). */
function learningRateOf(optimizer: Optimizer): number {
  const lr = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  return typeof lr === 'number' ? lr : Number.NaN;
}

/**
 * The loss terms and ‖g‖₂ over all gradients (as PyTorch's `clip_grad_norm_`) in ONE read-back:
 * each synchronous read waits for the device on webgl and takes a canvas round trip on webgpu.
 * On wasm and cpu, whose tensor memory we can read in place, Σ g² is summed on the host in
 * float64 straight from the gradients' memory: no op per variable (a Reshape each, a concat
 * and three reductions on the device elsewhere), and a sum that does not round at float32.
 */
function readLossesAndNorm(
  value: Scalar,
  terms: Scalar[],
  gradients: Tensor[],
): { numbers: Float32Array; norm: number } {
  const memory = tensorMemory(getBackend());
  const onHost = memory !== null && gradients.every((g) => g.dtype === 'float32');
  const read = tidy(() => {
    if (onHost) return stack([value, ...terms]);
    const norm =
      gradients.length === 0 ? scalar(0) : sqrt(sum(square(concat(gradients.map((g) => reshape(g, [-1]))))));
    return stack([value, ...terms, norm]);
  });
  try {
    const numbers = read.dataSync() as Float32Array;
    if (!onHost) return { numbers, norm: numbers[numbers.length - 1] };
    const backend = engine().backend;
    let sumOfSquares = 0;
    for (const g of gradients) {
      const values = memory.read(backend, g); // a view: nothing is allocated until the loop ends
      for (let i = 0; i < values.length; i++) sumOfSquares += values[i] * values[i];
    }
    return { numbers, norm: Math.sqrt(sumOfSquares) };
  } finally {
    read.dispose();
  }
}

function checkTrainBatch(batch: TrainBatch): void {
  if (batch === null || typeof batch !== 'object') {
    throw new ConfigError(
      `batch: expected { x, mask?, condition?, target?, targetMask? }, got ${String(batch)}`,
    );
  }
  asSetBatch(batch as TrainBatch, 'batch');
  if (batch.target !== undefined) asSetBatch({ x: batch.target, mask: batch.targetMask }, 'batch.target');
  else if (batch.targetMask !== undefined)
    throw new ConfigError('batch.targetMask: given without batch.target');
}

function checkPlan(plan: TrainingPlan): void {
  if (plan === null || typeof plan !== 'object')
    throw new ConfigError(`plan: expected an object, got ${String(plan)}`);
  const known = ['learningRate', 'lossWeights', 'optimizer', 'clipNorm', 'epochs'];
  for (const key of Object.keys(plan)) {
    if (!known.includes(key))
      throw new ConfigError(`plan.${key}: unknown option (expected one of ${known.join(', ')})`);
  }
  const lr = plan.learningRate;
  if (
    lr !== undefined &&
    typeof lr !== 'function' &&
    !(typeof lr === 'number' && lr >= 0 && Number.isFinite(lr))
  ) {
    throw new ConfigError(
      `plan.learningRate: expected a number >= 0 or a schedule, got ${JSON.stringify(lr)}`,
    );
  }
  if (plan.clipNorm !== undefined && !(typeof plan.clipNorm === 'number' && plan.clipNorm > 0)) {
    throw new ConfigError(`plan.clipNorm: expected a number > 0, got ${JSON.stringify(plan.clipNorm)}`);
  }
  if (plan.optimizer !== undefined && typeof plan.optimizer !== 'function') {
    throw new ConfigError('plan.optimizer: expected a function (learningRate) => Optimizer');
  }
  if (
    plan.epochs !== undefined &&
    !(typeof plan.epochs === 'number' && plan.epochs > 0 && Number.isFinite(plan.epochs))
  ) {
    throw new ConfigError(`plan.epochs: expected a number > 0, got ${JSON.stringify(plan.epochs)}`);
  }
}

/** Trains one model: optimizer, position and schedules. */
export class Trainer {
  readonly learningRateSchedule: LearningRateSchedule;
  readonly lossWeightSchedules: readonly LossWeightSchedule[];
  readonly clipNorm: number | undefined;
  /** Default length of `fit` in epochs (the plan's, else 1). */
  readonly epochs: number;
  private readonly makeOptimizer: (learningRate: number) => Optimizer;
  private readonly seed: number;
  private ownOptimizer: Optimizer | null = null;
  private position: TrainingPosition = { step: 0, epoch: 0, epochStep: 0, skipped: 0 };
  private runner: ShardRunner | null = null;

  constructor(
    readonly model: SetModel,
    plan: TrainingPlan = model.trainingPlan?.() ?? {},
  ) {
    checkPlan(plan);
    const lr = plan.learningRate ?? 1e-3;
    this.learningRateSchedule = typeof lr === 'number' ? constantLearningRate(lr) : lr;
    const weights = plan.lossWeights ?? [];
    this.lossWeightSchedules = typeof weights === 'function' ? [weights] : [...weights];
    this.clipNorm = plan.clipNorm;
    this.epochs = plan.epochs ?? 1;
    this.makeOptimizer = plan.optimizer ?? ((learningRate) => new ScheduledAdam(learningRate));
    this.seed = configSeed(model.getConfig());
  }

  /** Steps taken. */
  get step(): number {
    return this.position.step;
  }

  /** Epochs done, fractional inside an epoch. */
  get epoch(): number {
    return this.position.epoch;
  }

  /** A copy of the position (step, epoch, batches into the epoch, skipped batches). */
  get trainingPosition(): TrainingPosition {
    return { ...this.position };
  }

  /** Moves the schedules' position (`fit` does it; set it yourself in a custom loop). */
  setEpoch(epoch: number, epochStep = this.position.epochStep): void {
    if (typeof epoch !== 'number' || !(epoch >= 0 && Number.isFinite(epoch))) {
      throw new ConfigError(`epoch: expected a finite number >= 0, got ${epoch}`);
    }
    this.position.epoch = epoch;
    this.position.epochStep = epochStep;
  }

  /** Shards each step's batch is cut into (1: the whole batch at once). */
  get shards(): number {
    return this.position.shards ?? 1;
  }

  /** What places the shards (null: this thread). */
  get shardRunner(): ShardRunner | null {
    return this.runner;
  }

  /**
   * Cuts every following step's batch into `shards` contiguous slices of sets, their
   * gradients summed as `Σ_s (B_s/B)·∇L_s` (see `shards.ts`); `runner` places the shards
   * (default: all on this thread). `shards: 1` is the plain step.
   */
  setShards(shards: number, runner: ShardRunner | null = null): void {
    if (!(Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARDS)) {
      throw new ConfigError(
        `shards: expected an integer in [1, ${MAX_SHARDS}], got ${JSON.stringify(shards)}`,
      );
    }
    if (shards === 1) delete this.position.shards;
    else this.position.shards = shards;
    if (this.runner !== runner) this.runner?.dispose?.();
    this.runner = runner;
  }

  /** Called by `fit` for a skipped (diverging) batch. */
  countSkipped(): void {
    this.position.skipped++;
  }

  /** The optimizer `trainStep` uses (created at the first step), or null before. */
  get optimizer(): Optimizer | null {
    return this.ownOptimizer;
  }

  private ensureOptimizer(): Optimizer {
    this.ownOptimizer ??= this.makeOptimizer(this.learningRateSchedule(this.position));
    return this.ownOptimizer;
  }

  /** The learning rate the next step will use. */
  get learningRate(): number {
    return this.learningRateSchedule(this.position);
  }

  /** Loss-term weights the next step will use (later schedules win on the same term). */
  get lossWeights(): Record<string, number> {
    return Object.assign({}, ...this.lossWeightSchedules.map((s) => s(this.position)));
  }

  /**
   * One optimisation step: `model.loss(batch, { seed, weights, training })`, gradients,
   * checks, optional clipping, optimizer. The loss noise is seeded from (config seed, step),
   * so a restored model repeats a run exactly. Throws `DivergenceError` before updating
   * anything if a term or the gradient norm is not finite.
   */
  trainStep(
    batch: TrainBatch,
    { optimizer, maxLoss = Number.POSITIVE_INFINITY }: TrainStepOptions = {},
  ): StepResult {
    checkTrainBatch(batch);
    const step = this.position.step;
    checkFiniteBatch(batch, step);
    const weights = this.lossWeights;
    const learningRate = this.learningRate;
    const variables = [...this.model.trainableVariables];
    if (variables.length === 0)
      throw new ConfigError(`trainStep: ${this.model.constructor.name} has no trainable variables`);
    const names: string[] = [];
    let terms: Scalar[] = [];
    let result: { value: Scalar; grads: NamedTensorMap };
    try {
      // tensors saved for the backward pass share their data instead of being copied (tfjs-wasm)
      result = withSharedClones(() => {
        if (this.shards > 1) {
          return this.shardedGradients(batch, stepSeed(this.seed, step), weights, variables, names, terms);
        }
        return variableGrads(() => {
          const options = { seed: stepSeed(this.seed, step), weights, training: true };
          const loss = checkedLoss(this.model, this.model.loss(batch, options));
          for (const [name, t] of Object.entries(loss)) {
            if (name === 'total') continue;
            names.push(name);
            terms.push(keep(t));
          }
          return loss.total;
        }, variables);
      });
    } catch (error) {
      releaseTape();
      dispose(terms);
      // the batch is finite, so a non-finite value met inside the loss is the model's own
      if (error instanceof DataError && /finite/.test(error.message)) {
        throw new DivergenceError(step, 'model output', Number.NaN, Number.POSITIVE_INFINITY, error.message);
      }
      throw error;
    }
    const { value, grads } = result;
    try {
      const gradients = Object.values(grads);
      const { numbers, norm: gradientNorm } = readLossesAndNorm(value, terms, gradients);
      const losses: Record<string, number> = { total: numbers[0] };
      terms.forEach((_, i) => {
        losses[names[i]] = numbers[i + 1];
      });
      for (const [name, v] of Object.entries(losses)) {
        if (!Number.isFinite(v) || Math.abs(v) > maxLoss) throw new DivergenceError(step, name, v, maxLoss);
      }
      if (!Number.isFinite(gradientNorm)) throw new DivergenceError(step, 'gradient norm', gradientNorm);
      const coefficient = this.clipNorm === undefined ? 1 : this.clipNorm / (gradientNorm + 1e-6);
      // created at the first successful forward pass, so a failed first step allocates nothing
      const opt = optimizer ?? this.ensureOptimizer();
      if (!optimizer) (opt as unknown as { learningRate: number }).learningRate = learningRate;
      // tfjs's optimizers answer `instanceof` for one another's classes: ask for the method
      const scaled = (opt as Partial<Pick<ScheduledAdam, 'applyScaledGradients'>>).applyScaledGradients;
      if (typeof scaled === 'function') {
        // clipping inside the update: the same values, no op per variable on wasm and cpu
        scaled.call(opt, grads, Math.min(coefficient, 1));
      } else {
        let applied = grads;
        if (coefficient < 1) {
          applied = tidy(() => {
            const scaled: NamedTensorMap = {};
            for (const [name, g] of Object.entries(grads)) scaled[name] = mul(g, coefficient);
            return scaled;
          });
        }
        try {
          opt.applyGradients(applied);
        } finally {
          if (applied !== grads) dispose(Object.values(applied));
        }
      }
      this.position.step++;
      this.model.afterTrainStep?.(batch);
      return { losses, learningRate: learningRateOf(opt), weights, gradientNorm };
    } finally {
      dispose([value, ...Object.values(grads), ...terms]);
      terms = [];
    }
  }

  /**
   * A data-parallel step's loss and gradients (as `variableGrads` returns them, with the terms
   * pushed to `names` / `terms`): each non-empty shard computed by the runner or here, then
   * summed with weights B_s/B (1 for a model whose terms are sums over the batch).
   */
  private shardedGradients(
    batch: TrainBatch,
    seed: number,
    weights: Record<string, number>,
    variables: Variable[],
    names: string[],
    terms: Scalar[],
  ): { value: Scalar; grads: NamedTensorMap } {
    const size = batch.x.shape[0];
    const bounds = shardBounds(size, this.shards);
    const inline = (s: number): ShardResult => {
      const shard = sliceBatch(batch, bounds[s], bounds[s + 1]);
      try {
        return computeShard(
          this.model,
          shard,
          { seed: shardSeed(seed, s), weights, training: true },
          variables,
        );
      } finally {
        dispose(batchTensors(shard));
      }
    };
    const placed = this.runner?.run({ batch, bounds, seed, weights }, inline);
    const used: number[] = [];
    const results: ShardResult[] = [];
    for (let s = 0; s < this.shards; s++) {
      if (bounds[s + 1] === bounds[s]) continue;
      used.push(s);
      results.push(placed?.[s] ?? inline(s));
    }
    const sum = this.model.batchReduction === 'sum';
    const coefficients = used.map((s) => (sum ? 1 : (bounds[s + 1] - bounds[s]) / size));
    const combined = combineShards(
      results,
      coefficients,
      variables.map((v) => v.size),
    );
    const grads: NamedTensorMap = {};
    variables.forEach((v, i) => {
      const g = combined.gradients[i];
      if (g) grads[v.name] = tensor(g, v.shape, 'float32');
    });
    for (const [name, v] of combined.terms.slice(1)) {
      names.push(name);
      terms.push(scalar(v));
    }
    return { value: scalar(combined.terms[0][1]), grads };
  }

  /** Restores a saved position and optimizer state (tensors are copied, not kept). */
  async restore(
    position: TrainingPosition,
    optimizerWeights: { name: string; tensor: Tensor }[],
  ): Promise<void> {
    this.ownOptimizer?.dispose();
    this.ownOptimizer = null;
    this.position = { ...position };
    if (this.position.shards === 1) delete this.position.shards;
    if (optimizerWeights.length > 0) await this.ensureOptimizer().setWeights(optimizerWeights);
  }

  /** Frees the optimizer state (and the shard runner's workers). */
  dispose(): void {
    this.runner?.dispose?.();
    this.runner = null;
    this.ownOptimizer?.dispose();
    this.ownOptimizer = null;
  }
}
