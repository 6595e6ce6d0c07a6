// SetVAE (Kim et al., CVPR 2021): a hierarchical VAE for sets. Bottom-up ISAB encoder whose
// projected sets h_enc are the deterministic encodings (§4); initial set from a mixture of
// Gaussians (Eq. 21) at the requested cardinality; top-down stack of Attentive Bottleneck
// Layers (Eq. 17–20) with a learned prior at the top and conditional priors below; Chamfer
// reconstruction + β·KL (Eq. 24–25).

import type { SetDataset } from '@setgen/data';
import {
  AttentiveBottleneckLayer,
  IidCreation,
  InducedSetAttentionBlock,
  MixtureOfGaussiansPrior,
} from '@setgen/layers';
import {
  asSetBatch,
  ConfigError,
  chamferDistance,
  DataError,
  formatShape,
  type HostSet,
  Random,
  type SetBatch,
  type SetLike,
  ShapeError,
} from '@setgen/ops';
import {
  add,
  addN,
  dispose,
  div,
  expandDims,
  type io,
  keep,
  mean,
  mul,
  type NamedTensorMap,
  type Optimizer,
  ones,
  type Scalar,
  scalar,
  slice,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  type Tensor4D,
  type TensorContainer,
  tanh,
  tidy,
  type Variable,
  variableGrads,
  zeros,
} from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import {
  checkWeightShapes,
  readCheckpoint,
  resolveHandler,
  type TrainingPosition,
  writeCheckpoint,
} from './checkpoint.js';
import { ElementwiseDense } from './dense.js';
import { ScheduledAdam } from './scheduled-adam.js';
import { klWeight, linearDecayAfterHalf } from './schedules.js';
import {
  type ResolvedSetVAEConfig,
  resolveSetVAEConfig,
  type SetVAEConfig,
  setVAEPresets,
} from './setvae-config.js';
import { checkFitOptions, type FitOptions, type FitResult, fitLoop } from './training.js';

/** Loss terms of one batch (Eq. 25); `klPerLevel[l]` is level l's KL (top-down), batch mean. */
export interface SetVAELoss {
  total: Scalar;
  recon: Scalar;
  kl: Scalar;
  klPerLevel: Scalar[];
}

/** Options of `sample`. */
export interface SampleOptions {
  /** Seed of the initial set and the latent draws; default: the model's own stream. */
  seed?: number;
  /** Multiplies the prior standard deviations of the latents (1 = the model). Default 1. */
  temperature?: number;
}

/** Options of `reconstruct` / `loss`. */
export interface ReconstructOptions {
  /** Seed of the initial set and the posterior draws; default: the model's own stream. */
  seed?: number;
}

/** Generator attention of one ABL, for visualisation (SetVAE Fig. 8). */
export interface LevelAttention {
  /** Inducing points m_l of the level. */
  inducingPoints: number;
  /** `[B, H, m_l, N]`: how each element distributes over the m_l inducing points. */
  attention: Tensor4D;
}

/** Bottom-up encodings of a batch. */
export interface SetVAEEncoding {
  /** Projected sets h_enc `[B, m_l, d]`, TOP-DOWN order (index l pairs with generator level l). */
  features: Tensor3D[];
  /** Encoder projection attention `[B, H, m_l, N]` per level, top-down (SetVAE Fig. 7). */
  attention: Tensor4D[];
}

/** A decoded batch with its per-level generator attention. */
export interface SetVAEOutput extends SetBatch {
  mask: Tensor2D;
  /** Generator attention per level, top-down (SetVAE Fig. 8). */
  attention: LevelAttention[];
}

/** An initial set z(0) with its mask; `full` when every row is valid. */
interface InitialSet {
  x: Tensor3D;
  mask: Tensor2D;
  full: boolean;
}

let instances = 0;

/** tf.tidy for our result interfaces (plain objects and arrays of tensors). */
function tidyObject<T>(fn: () => T): T {
  return tidy(fn as unknown as () => TensorContainer) as unknown as T;
}

/** Seeds derived from one integer: reproducible streams per step / call. */
function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) % 2147483647;
}

/**
 * Adam's state is `iter`, then first and second moments of the variables that received a
 * gradient (the top ABL's projection and the last ISAB's broadcast feed no loss term), in
 * variable order: the moments' shapes must follow the model's trainable variables.
 */
function checkOptimizerState(state: { name: string; tensor: Tensor }[], variables: Variable[]): void {
  if (state.length === 0) return;
  const count = (state.length - 1) / 2;
  if (state[0].name !== 'iter' || !Number.isInteger(count) || count > variables.length) {
    throw new DataError(
      `checkpoint: optimizer state of ${state.length} tensors does not fit ${variables.length} variables`,
    );
  }
  let v = 0;
  for (let i = 0; i < count; i++) {
    const shape = state[1 + i].tensor.shape;
    const same = (a: number[]) => a.length === shape.length && a.every((d, k) => d === shape[k]);
    if (!same(state[1 + count + i].tensor.shape)) {
      throw new DataError(
        `checkpoint: optimizer moments ${state[1 + i].name} and ${state[1 + count + i].name} differ in shape`,
      );
    }
    while (v < variables.length && !same(variables[v].shape)) v++;
    if (v++ >= variables.length) {
      throw new DataError(
        `checkpoint: optimizer moment ${state[1 + i].name} ${formatShape(shape)} matches no model variable`,
      );
    }
  }
}

/** Valid elements per set, read on the host. */
function setSizes(batch: SetBatch): number[] {
  const [b, n] = batch.x.shape;
  if (!batch.mask) return new Array<number>(b).fill(n);
  const values = batch.mask.dataSync();
  return Array.from({ length: b }, (_, i) => {
    let count = 0;
    for (let j = 0; j < n; j++) count += values[i * n + j] === 1 ? 1 : 0;
    return count;
  });
}

/** Valid elements per set (host) and the trimmed batch: trailing all-padding columns dropped, an all-ones mask dropped. */
function trimPadding(batch: SetBatch): { batch: SetBatch; sizes: number[] } {
  const [b, n] = batch.x.shape;
  if (!batch.mask) return { batch, sizes: new Array<number>(b).fill(n) };
  const values = batch.mask.dataSync();
  const sizes = new Array<number>(b).fill(0);
  let last = 0;
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < n; j++) {
      const v = values[i * n + j];
      if (v !== 0 && v !== 1) throw new DataError(`batch.mask: expected 0/1 values, got ${v} at [${i},${j}]`);
      if (v === 1) {
        sizes[i]++;
        if (j + 1 > last) last = j + 1;
      }
    }
  }
  // every kept row valid: the mask says nothing more, and the unmasked path is cheaper
  const full = sizes.every((size) => size === last);
  if (last === n) return { batch: full ? { x: batch.x } : batch, sizes };
  const x = slice(batch.x, [0, 0, 0], [b, last, -1]);
  return { batch: full ? { x } : { x, mask: slice(batch.mask, [0, 0], [b, last]) }, sizes };
}

/**
 * SetVAE. Plain class composing `@setgen/layers` blocks; see the package README.
 *
 * ```ts
 * const model = new SetVAE({ ...SetVAE.presets.setMnist, epochs: 20 });
 * await model.fit(trainSets, { onProgress: (p) => console.log(p.step, p.losses.total) });
 * const { x, mask } = model.sample([150, 300], { seed: 1 });
 * ```
 */
export class SetVAE {
  /** The paper's configurations (Table 4–5). */
  static readonly presets = setVAEPresets;
  static readonly className = 'SetVAE';

  readonly config: ResolvedSetVAEConfig;
  private readonly inputFc: ElementwiseDense;
  private readonly encoder: InducedSetAttentionBlock[];
  private readonly mixture: MixtureOfGaussiansPrior;
  private readonly initialSet: IidCreation;
  private readonly initialFc: ElementwiseDense;
  private readonly decoder: AttentiveBottleneckLayer[];
  private readonly outputFc: ElementwiseDense;
  private readonly random: Random;
  private optimizer: ScheduledAdam | null = null;
  private trainingStep = 0;
  private trainingEpoch = 0;
  /** How often `trainStep` has seen each set size. */
  private readonly cardinalityCounts = new Map<number, number>();
  private disposed = false;

  constructor(config: SetVAEConfig) {
    this.config = resolveSetVAEConfig(config);
    const c = this.config;
    const id = `setvae${++instances}`;
    const init = new Random(c.seed);
    this.random = new Random(mixSeed(c.seed, 1));
    this.inputFc = new ElementwiseDense(c.inputDim, c.hiddenDim, init, `${id}/input`);
    const blockArgs = {
      units: c.hiddenDim,
      numHeads: c.numHeads,
      layerNorm: c.layerNorm,
      variant: 'setvae' as const,
    };
    // Encoder: ISABs bottom-up, i.e. the inducing points in reverse (Table 4: 32, 16, 8, 4, 2).
    this.encoder = [...c.inducingPoints].reverse().map(
      (m, i) =>
        new InducedSetAttentionBlock({
          ...blockArgs,
          numInducingPoints: m,
          attention: c.slotAttention ? 'slot' : 'softmax',
          seed: init.seed(),
          name: `${id}_encoder${i}`,
        }),
    );
    this.mixture = new MixtureOfGaussiansPrior({
      numComponents: c.mixtureComponents,
      dim: c.initialSetDim,
      seed: init.seed(),
      trainable: c.trainMixture,
      name: `${id}_mixture`,
    });
    this.initialSet = new IidCreation({
      featureDim: c.initialSetDim,
      prior: this.mixture,
      name: `${id}_initial`,
    });
    this.initialFc = new ElementwiseDense(c.initialSetDim, c.hiddenDim, init, `${id}/initial`);
    // Generator: ABLs top-down; the top level has a learned unconditional prior (Eq. 19).
    // (non-hierarchical: one latent per ABL, each with an unconditional prior; App. B.3)
    this.decoder = c.inducingPoints.map(
      (m, l) =>
        new AttentiveBottleneckLayer({
          ...blockArgs,
          latentDim: c.latentDim,
          numInducingPoints: c.hierarchical ? m : 1,
          conditionalPrior: c.hierarchical && l > 0,
          attention: c.slotAttention ? 'slot' : 'softmax',
          seed: init.seed(),
          name: `${id}_decoder${l}`,
        }),
    );
    this.outputFc = new ElementwiseDense(c.hiddenDim, c.inputDim, init, `${id}/output`);
    // Build every layer now, so weights exist for the optimizer, save and load.
    const set: (number | null)[] = [null, null, c.hiddenDim];
    for (const layer of [...this.encoder, ...this.decoder]) layer.build(set);
  }

  /** The resolved configuration (every default filled in). */
  getConfig(): ResolvedSetVAEConfig {
    return { ...this.config, inducingPoints: [...this.config.inducingPoints] };
  }

  /** Steps taken by `trainStep` (restored by `load`). */
  get step(): number {
    return this.trainingStep;
  }

  /** Epochs done, fractional inside an epoch; drives the LR schedule and β warm-up. */
  get epoch(): number {
    return this.trainingEpoch;
  }

  /** Moves the schedule position (used by `fit`; set it yourself in a custom loop). */
  setEpoch(epoch: number): void {
    if (!(epoch >= 0 && Number.isFinite(epoch)))
      throw new ConfigError(`epoch: expected a number >= 0, got ${epoch}`);
    this.trainingEpoch = epoch;
  }

  // ------------------------------------------------------------------ forward passes

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('SetVAE: this model has been disposed');
  }

  private checkBatch(batch: SetLike, name: string): SetBatch {
    const b = asSetBatch(batch, name);
    if (b.x.shape[2] !== this.config.inputDim) {
      throw new ShapeError(
        `${name}: expected elements of dimension ${this.config.inputDim} (x [B,N,${this.config.inputDim}]), got ${formatShape(b.x.shape)}`,
      );
    }
    if (b.x.shape[0] === 0)
      throw new ShapeError(`${name}: expected at least one set, got ${formatShape(b.x.shape)}`);
    return b;
  }

  /**
   * Bottom-up encoder (§4): input FC, then ISABs (fine → coarse); each ISAB's projected set
   * h = MAB(I, x) is the deterministic encoding of its level. Permutation invariant in x.
   */
  encode(batch: SetLike): SetVAEEncoding {
    this.checkAlive();
    const input = this.checkBatch(batch, 'batch');
    return tidyObject(() => this.bottomUp(trimPadding(input).batch, true));
  }

  /** The encoder on a trimmed batch; attention maps only when asked for (not in training). */
  private bottomUp(batch: SetBatch, withAttention: boolean): SetVAEEncoding {
    const mask = batch.mask ?? null;
    let x = this.inputFc.apply(batch.x);
    if (mask) x = mul(x, expandDims(mask, 2));
    const features: Tensor3D[] = [];
    const attention: Tensor4D[] = [];
    const below = this.encoder.slice(0, -1);
    for (const isab of below) {
      const result = isab.forward(x, { mask, returnAttention: withAttention });
      x = result.out;
      features.push(result.h);
      if (result.attention) attention.push(result.attention[0] as Tensor4D);
    }
    // the top level's broadcast back to the set would feed nothing: its projection alone
    const top = this.encoder[below.length].project(x, { mask, returnAttention: withAttention });
    features.push(top.h);
    if (top.attention) attention.push(top.attention as Tensor4D);
    return { features: features.reverse(), attention: attention.reverse() };
  }

  /** Initial elements z(0) (Eq. 21) for `sizes`: `[B, max(sizes), initialSetDim]`, prefix mask. */
  private drawInitialSet(sizes: number[], seed: number): InitialSet {
    const full = sizes.every((n) => n === sizes[0]);
    return tidyObject(() => {
      const created = this.initialSet.create(zeros([sizes.length, 1]) as Tensor2D, sizes, { seed });
      return { x: created.x, mask: created.mask as Tensor2D, full };
    });
  }

  /**
   * Top-down generator: initial set → ABLs → output FC (→ (tanh+1)/2 for unit-square data).
   * With `features` (inference, Eq. 20) latents come from the residual posteriors; without
   * them (generation, Eq. 19) from the priors.
   */
  private decode(
    features: Tensor3D[] | null,
    initial: InitialSet,
    {
      seed,
      temperature = 1,
      withAttention = true,
    }: { seed: number; temperature?: number; withAttention?: boolean },
  ): SetVAEOutput & { kl: Tensor[] } {
    const seeds = new Random(seed);
    // an all-ones mask changes nothing: the layers then take their cheaper unmasked path
    const mask = initial.full ? null : initial.mask;
    let x = this.initialFc.apply(initial.x);
    if (mask) x = mul(x, expandDims(mask, 2)) as Tensor3D;
    const kl: Tensor[] = [];
    const attention: LevelAttention[] = [];
    // non-hierarchical (App. B.3): every ABL reads the average of all levels' encodings
    const pooled =
      features && !this.config.hierarchical
        ? (div(addN(features.map((h) => mean(h, 1, true))), features.length) as Tensor3D)
        : null;
    this.decoder.forEach((abl, l) => {
      const result = abl.forward(x, {
        mask,
        hEnc: pooled ?? (features ? features[l] : null),
        seed: seeds.seed(),
        temperature,
        returnAttention: withAttention,
      });
      x = result.out;
      if (features) kl.push(result.kl);
      if (result.attention) {
        attention.push({
          inducingPoints: abl.numInducingPoints,
          attention: result.attention[0] as Tensor4D,
        });
      }
    });
    let y = this.outputFc.apply(x);
    if (this.config.outputMap === 'unit-interval') y = div(add(tanh(y), 1), 2);
    return { x: mask ? (mul(y, expandDims(mask, 2)) as Tensor3D) : y, mask: initial.mask, attention, kl };
  }

  /**
   * Sets of the given cardinalities from the prior (§4): any sizes up to `maxOutputs`,
   * including ones never seen in training. → `{ x [B, max(sizes), D], mask }`. A number
   * instead of sizes draws that many sizes from the training cardinalities (`sampleSizes`).
   */
  sample(sizesOrCount: number[] | number, { seed, temperature = 1 }: SampleOptions = {}): SetVAEOutput {
    this.checkAlive();
    if (seed !== undefined && !Number.isInteger(seed)) {
      throw new ConfigError(`options.seed: expected an integer, got ${seed}`);
    }
    if (!(temperature >= 0 && Number.isFinite(temperature))) {
      throw new ConfigError(`options.temperature: expected a number >= 0, got ${temperature}`);
    }
    const streams = new Random(seed ?? this.random.seed());
    const sizes =
      typeof sizesOrCount === 'number'
        ? this.sampleSizes(sizesOrCount, { seed: streams.seed() })
        : sizesOrCount;
    this.checkSizes(sizes);
    return tidyObject(() => {
      const initial = this.drawInitialSet(sizes, streams.seed());
      const { kl: _, ...out } = this.decode(null, initial, { seed: streams.seed(), temperature });
      return out;
    });
  }

  /**
   * Decodes a given initial set z(0) (`x [B, n, initialSetDim]`, optional mask) with latents
   * from the priors. The output is permutation-equivariant in z(0) (Eq. 16); `sample` is this
   * with z(0) drawn from the mixture.
   */
  decodeInitialSet(initialSet: SetLike, { seed, temperature = 1 }: SampleOptions = {}): SetVAEOutput {
    this.checkAlive();
    const initial = asSetBatch(initialSet, 'initialSet');
    if (initial.x.shape[2] !== this.config.initialSetDim) {
      throw new ShapeError(
        `initialSet: expected x [B,N,${this.config.initialSetDim}] (config.initialSetDim), got ${formatShape(initial.x.shape)}`,
      );
    }
    if (seed !== undefined && !Number.isInteger(seed))
      throw new ConfigError(`options.seed: expected an integer, got ${seed}`);
    if (!(temperature >= 0 && Number.isFinite(temperature))) {
      throw new ConfigError(`options.temperature: expected a number >= 0, got ${temperature}`);
    }
    return tidyObject(() => {
      const [b, n] = initial.x.shape;
      const mask = initial.mask ?? (ones([b, n]) as Tensor2D);
      const { kl: _, ...out } = this.decode(
        null,
        { x: initial.x, mask, full: !initial.mask },
        { seed: seed ?? this.random.seed(), temperature },
      );
      return out;
    });
  }

  /**
   * `count` set sizes drawn from the cardinalities seen in training (SetVAE does not predict
   * n; generation uses the data's sizes). `ConfigError` before any training.
   */
  sampleSizes(count: number, { seed }: { seed?: number } = {}): number[] {
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError(`count: expected a positive integer, got ${count}`);
    const entries = [...this.cardinalityCounts.entries()].sort((a, b) => a[0] - b[0]);
    const total = entries.reduce((sum, [, c]) => sum + c, 0);
    if (total === 0) {
      throw new ConfigError(
        'sampleSizes: no training cardinalities recorded yet (train first, or pass sizes to sample())',
      );
    }
    const random = new Random(seed ?? this.random.seed());
    return Array.from({ length: count }, () => {
      let r = random.next() * total;
      for (const [size, c] of entries) {
        r -= c;
        if (r < 0) return size;
      }
      return entries[entries.length - 1][0];
    });
  }

  private checkSizes(sizes: number[]): void {
    if (!Array.isArray(sizes) || sizes.length === 0) {
      throw new ConfigError(`sizes: expected a non-empty array of set sizes, got ${JSON.stringify(sizes)}`);
    }
    sizes.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 1 || n > this.config.maxOutputs) {
        throw new ConfigError(
          `sizes[${i}]: expected an integer in [1, ${this.config.maxOutputs}] (config.maxOutputs), got ${n}`,
        );
      }
    });
  }

  /** Encode, draw the posterior latents (Eq. 20) and decode at the input's cardinalities. */
  reconstruct(batch: SetLike, { seed }: ReconstructOptions = {}): SetVAEOutput {
    this.checkAlive();
    const input = this.checkBatch(batch, 'batch');
    return tidyObject(() => {
      const { batch: trimmed, sizes } = trimPadding(input);
      this.checkSizes(sizes);
      const streams = new Random(seed ?? this.random.seed());
      const { features } = this.bottomUp(trimmed, false);
      const initial = this.drawInitialSet(sizes, streams.seed());
      const { kl: _, ...out } = this.decode(features, initial, { seed: streams.seed() });
      return out;
    });
  }

  /**
   * Eq. 25: Chamfer (Eq. 24: sum of squared nearest-neighbour distances both ways, mean
   * over the batch) + β·Σ_l KL_l (mean over the batch). β defaults to the warm-up schedule.
   */
  loss(batch: SetLike, { seed, beta }: ReconstructOptions & { beta?: number } = {}): SetVAELoss {
    this.checkAlive();
    const input = this.checkBatch(batch, 'batch');
    const weight = beta ?? klWeight(this.trainingEpoch, this.config.beta, this.config.klWarmupEpochs);
    return tidyObject(() => {
      const { batch: trimmed, sizes } = trimPadding(input);
      this.checkSizes(sizes);
      const streams = new Random(seed ?? this.random.seed());
      const { features } = this.bottomUp(trimmed, false);
      const initial = this.drawInitialSet(sizes, streams.seed());
      const out = this.decode(features, initial, { seed: streams.seed(), withAttention: false });
      const recon = chamferDistance(initial.full ? out.x : { x: out.x, mask: out.mask }, trimmed, {
        pointReduction: 'sum',
        reduction: 'mean',
      }) as Scalar;
      const klPerLevel = out.kl.map((k) => mean(k) as Scalar);
      const kl = (klPerLevel.length > 0 ? addN(klPerLevel) : scalar(0)) as Scalar;
      const total = add(recon, mul(kl, weight)) as Scalar;
      return { total, recon, kl, klPerLevel };
    });
  }

  // ------------------------------------------------------------------ training

  /** Every trainable variable, in a fixed order (the optimizer's moments follow it). */
  private trainableVariables(): Variable[] {
    const read = (weights: LayerVariable[]) => weights.map((w) => w.read() as Variable);
    return [
      ...this.inputFc.variables,
      ...this.encoder.flatMap((layer) => read(layer.trainableWeights)),
      ...read(this.initialSet.trainableWeights),
      ...this.initialFc.variables,
      ...this.decoder.flatMap((layer) => read(layer.trainableWeights)),
      ...this.outputFc.variables,
    ];
  }

  /** Every weight with a stable checkpoint name, in a fixed order. */
  private namedWeights(): { name: string; variable: Variable }[] {
    const named: { name: string; variable: Variable }[] = [];
    const addLayer = (key: string, weights: LayerVariable[]) => {
      weights.forEach((w, i) => {
        named.push({ name: `${key}/${i}`, variable: w.read() as Variable });
      });
    };
    const addDense = (key: string, dense: ElementwiseDense) => {
      named.push(
        { name: `${key}/kernel`, variable: dense.kernel },
        { name: `${key}/bias`, variable: dense.bias },
      );
    };
    addDense('input', this.inputFc);
    this.encoder.forEach((layer, i) => {
      addLayer(`encoder${i}`, layer.weights);
    });
    addLayer('mixture', this.mixture.weights);
    addDense('initial', this.initialFc);
    this.decoder.forEach((layer, l) => {
      addLayer(`decoder${l}`, layer.weights);
    });
    addDense('output', this.outputFc);
    return named;
  }

  /** The default optimizer: Adam(lr, 0.9, 0.999), LR schedule of App. D. */
  private defaultOptimizer(): ScheduledAdam {
    if (!this.optimizer) this.optimizer = new ScheduledAdam(this.config.learningRate);
    return this.optimizer;
  }

  /**
   * One optimisation step on `batch` (Eq. 25). Without `optimizer` the model's own Adam with
   * the paper's schedule is used. The step's noise is seeded from (config.seed, step), so a
   * restored model repeats a run exactly. Returns the loss terms as numbers.
   */
  trainStep(
    batch: SetLike,
    optimizer?: Optimizer,
  ): { losses: Record<string, number>; learningRate: number; beta: number } {
    this.checkAlive();
    const input = this.checkBatch(batch, 'batch');
    const opt = optimizer ?? this.defaultOptimizer();
    const beta = klWeight(this.trainingEpoch, this.config.beta, this.config.klWarmupEpochs);
    let learningRate = Number.NaN;
    if (opt instanceof ScheduledAdam) {
      opt.setScheduleFactor(linearDecayAfterHalf(this.trainingEpoch, this.config.epochs));
      learningRate = opt.currentLearningRate;
    }
    const seed = mixSeed(this.config.seed, this.trainingStep + 2);
    const sizes = setSizes(input);
    const variables = this.trainableVariables();
    let terms: Scalar[] = [];
    const { value, grads } = variableGrads(() => {
      const loss = this.loss(input, { seed, beta });
      terms = [loss.recon, loss.kl, ...loss.klPerLevel].map((t) => keep(t));
      return loss.total;
    }, variables);
    const names = ['recon', 'kl', ...this.config.inducingPoints.map((_, l) => `kl${l}`)];
    try {
      opt.applyGradients(grads);
      const losses: Record<string, number> = { total: value.dataSync()[0] };
      terms.forEach((t, i) => {
        losses[names[i]] = t.dataSync()[0];
      });
      if (!Number.isFinite(losses.total)) {
        throw new DataError(`trainStep: the loss became ${losses.total} at step ${this.trainingStep}`);
      }
      this.trainingStep++;
      for (const n of sizes) this.cardinalityCounts.set(n, (this.cardinalityCounts.get(n) ?? 0) + 1);
      return { losses, learningRate, beta };
    } finally {
      dispose([value, ...Object.values(grads), ...terms]);
    }
  }

  /**
   * Trains on `data` (sets on the host, e.g. `setMnist({ split: 'train' })`) in shuffled,
   * padded minibatches from the current position up to `options.epochs` (default the
   * config's). `onProgress` gets {step, epoch, losses, learningRate, beta, stepsPerSecond};
   * `signal` stops after the current step. Resumes exactly after `load`.
   */
  async fit(data: SetDataset | readonly HostSet[], options: FitOptions = {}): Promise<FitResult> {
    this.checkAlive();
    const batchSize = options.batchSize ?? this.config.batchSize;
    const epochs = options.epochs ?? this.config.epochs;
    const sets = checkFitOptions(data, options, batchSize, epochs);
    const tooLarge = sets.findIndex(
      (s) => s.n > this.config.maxOutputs || s.d !== this.config.inputDim || s.n < 1,
    );
    if (tooLarge >= 0) {
      const s = sets[tooLarge];
      throw new DataError(
        `data[${tooLarge}]: expected 1..${this.config.maxOutputs} elements of dimension ${this.config.inputDim}, got n=${s.n}, d=${s.d}`,
      );
    }
    return fitLoop(this, sets, { ...options, batchSize, epochs, seed: this.config.seed });
  }

  // ------------------------------------------------------------------ save / load

  /**
   * Saves weights, optimizer state and training position through a tf.io handler, or to a
   * directory (`model.json` + `weights.bin`; paths need `@setgen/models/node`).
   */
  async save(handlerOrPath: io.IOHandler | string): Promise<void> {
    this.checkAlive();
    const handler = resolveHandler(handlerOrPath, 'save');
    const optimizerWeights = this.optimizer ? await this.optimizer.getWeights() : [];
    try {
      await writeCheckpoint(handler, {
        modelClass: SetVAE.className,
        config: this.getConfig(),
        training: {
          step: this.trainingStep,
          epoch: this.trainingEpoch,
          cardinalities: [...this.cardinalityCounts.entries()].sort((a, b) => a[0] - b[0]),
        },
        weights: this.namedWeights().map(({ name, variable }) => ({ name, tensor: variable })),
        optimizer: optimizerWeights,
      });
    } finally {
      // `iter` is a fresh scalar; the moments are the optimizer's own variables
      dispose(optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor));
    }
  }

  /** A new SetVAE from a checkpoint written by `save`. Throws `DataError` if it is malformed. */
  static async load(handlerOrPath: io.IOHandler | string): Promise<SetVAE> {
    const handler = resolveHandler(handlerOrPath, 'load');
    const checkpoint = await readCheckpoint(handler, SetVAE.className);
    let model: SetVAE | null = null;
    try {
      model = new SetVAE(checkpoint.config as unknown as SetVAEConfig);
      await model.restore(checkpoint.weights, checkpoint.optimizer, checkpoint.training);
      return model;
    } catch (error) {
      model?.dispose();
      throw error instanceof ConfigError
        ? new DataError(`checkpoint: invalid config (${error.message})`)
        : error;
    } finally {
      dispose(Object.values(checkpoint.weights));
    }
  }

  /**
   * Loads a checkpoint into this model (weights, optimizer, position). Refuses, changing
   * nothing, if the checkpoint's config differs from this model's.
   */
  async loadWeights(handlerOrPath: io.IOHandler | string): Promise<void> {
    this.checkAlive();
    const handler = resolveHandler(handlerOrPath, 'load');
    const checkpoint = await readCheckpoint(handler, SetVAE.className);
    try {
      const mine = JSON.stringify(this.getConfig());
      let theirs: string;
      try {
        theirs = JSON.stringify(resolveSetVAEConfig(checkpoint.config as unknown as SetVAEConfig));
      } catch (error) {
        throw new DataError(`checkpoint: invalid config (${(error as Error).message})`);
      }
      if (mine !== theirs) {
        throw new DataError(`checkpoint: config ${theirs} does not match this model's ${mine}`);
      }
      await this.restore(checkpoint.weights, checkpoint.optimizer, checkpoint.training);
    } finally {
      dispose(Object.values(checkpoint.weights));
    }
  }

  private async restore(
    weights: NamedTensorMap,
    optimizerWeights: { name: string; tensor: Tensor }[],
    training: TrainingPosition,
  ): Promise<void> {
    const named = this.namedWeights();
    try {
      checkWeightShapes(
        weights,
        named.map(({ name, variable }) => ({ name, shape: variable.shape })),
      );
      const pairs = training.cardinalities ?? [];
      const validPairs =
        Array.isArray(pairs) &&
        pairs.every(
          (p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v > 0),
        );
      if (!(Number.isInteger(training.step) && training.step >= 0 && training.epoch >= 0 && validPairs)) {
        throw new DataError(`checkpoint: invalid training position ${JSON.stringify(training)}`);
      }
      checkOptimizerState(optimizerWeights, this.trainableVariables());
    } catch (error) {
      dispose(optimizerWeights.map((w) => w.tensor));
      throw error;
    }
    for (const { name, variable } of named) variable.assign(weights[name]);
    this.optimizer?.dispose();
    this.optimizer = null;
    if (optimizerWeights.length > 0) {
      const optimizer = this.defaultOptimizer();
      await optimizer.setWeights(optimizerWeights);
      // setWeights copies the moments into new variables; the decoded tensors go
      dispose(optimizerWeights.map((w) => w.tensor));
    }
    this.trainingStep = training.step;
    this.trainingEpoch = training.epoch;
    this.cardinalityCounts.clear();
    for (const [size, count] of training.cardinalities ?? []) this.cardinalityCounts.set(size, count);
  }

  /** Number of trainable parameters. */
  countParams(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** Frees every weight and the optimizer state. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inputFc.dispose();
    this.initialFc.dispose();
    this.outputFc.dispose();
    // the initial set holds the mixture's weights: dispose each variable once
    const weights = new Set(
      [...this.encoder, ...this.decoder, this.mixture].flatMap((layer) => layer.weights),
    );
    for (const w of weights) w.dispose();
    this.optimizer?.dispose();
    this.optimizer = null;
  }
}
