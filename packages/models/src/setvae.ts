// SetVAE (Kim et al., CVPR 2021): a hierarchical VAE for sets. Bottom-up ISAB encoder whose
// projected sets h_enc are the deterministic encodings (§4); initial set from a mixture of
// Gaussians (Eq. 21) at the requested cardinality; top-down stack of Attentive Bottleneck
// Layers (Eq. 17–20) with a learned prior at the top and conditional priors below; Chamfer
// reconstruction + β·KL (Eq. 24–25). Training, schedules and checkpoints: the runtime.

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
  Random,
  type SetBatch,
  type SetLike,
  ShapeError,
} from '@setgen/ops';
import { checkOptions, is, readSetBatch, zeroPadding } from '@setgen/ops/internal';
import {
  add,
  addN,
  div,
  maximum,
  mean,
  mul,
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
  zeros,
} from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { ElementwiseDense } from './dense.js';
import { registerModel } from './runtime/registry.js';
import { linearDecay, linearWarmup } from './runtime/schedules.js';
import { mixSeed } from './runtime/seeds.js';
import type { LossOptions, NamedVariable, TrainBatch, TrainingPlan } from './runtime/set-model.js';
import { TrainableSetModel } from './runtime/trainable-set-model.js';
import {
  type ResolvedSetVAEConfig,
  resolveSetVAEConfig,
  type SetVAEConfig,
  setVAEPresets,
} from './setvae-config.js';

/** Loss terms of one batch (Eq. 25): `kl = Σ_l kl{l}`, each a batch mean, level l top-down. */
export type SetVAELoss = { total: Scalar; recon: Scalar; kl: Scalar } & Record<`kl${number}`, Scalar>;

/** Options of `sample` / `decodeInitialSet`. */
export interface SampleOptions {
  /** Seed of the initial set and the latent draws; default: the model's own stream. */
  seed?: number;
  /** Multiplies the standard deviations of the latents (0 = every latent at its mean). Default 1. */
  temperature?: number;
  /** Given latents per level, top-down (`[B, m_l, latentDim]`, or null to draw that level): the reference's `given_latents`. */
  latents?: readonly (Tensor3D | null)[];
}

/** Options of `reconstruct` / `loss`. */
export interface ReconstructOptions {
  /** Seed of the initial set and the posterior draws; default: the model's own stream. */
  seed?: number;
  /** Multiplies the posterior standard deviations (0 = every latent at its mean). Default 1. */
  temperature?: number;
  /** Decode from this initial set z(0) `[B, n, initialSetDim]` instead of drawing it (its mask sets the output sizes). */
  initialSet?: SetLike;
}

/** Generator attention of one ABL, for visualisation (SetVAE Fig. 8). */
export interface LevelAttention {
  /** Inducing points m_l of the level. */
  inducingPoints: number;
  /** `[B, H, m_l, N]`: how each element distributes over the m_l inducing points. */
  attention: Tensor4D;
}

/** The latent distributions of one generator level (all `[B, m_l, latentDim]` except `kl`). */
export interface LevelLatents {
  priorMu: Tensor3D;
  priorLogvar: Tensor3D;
  /** Posterior (Eq. 20) in `reconstruct`; the prior again in `sample`. */
  posteriorMu: Tensor3D;
  posteriorLogvar: Tensor3D;
  /** The latents used. */
  z: Tensor3D;
  /** `[B]`: KL(posterior ‖ prior) per set (zeros in `sample`). */
  kl: Tensor;
}

/** Bottom-up encodings of a batch. */
export interface SetVAEEncoding {
  /** Projected sets h_enc `[B, m_l, d]`, TOP-DOWN order (index l pairs with generator level l). */
  features: Tensor3D[];
  /** Encoder projection attention `[B, H, m_l, N]` per level, top-down (SetVAE Fig. 7). */
  attention: Tensor4D[];
}

/** A decoded batch with its per-level generator attention and latents. */
export interface SetVAEOutput extends SetBatch {
  mask: Tensor2D;
  /** Generator attention per level, top-down (SetVAE Fig. 8). */
  attention: LevelAttention[];
  /** Latent distributions per level, top-down. */
  levels: LevelLatents[];
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

/** Options of sample/decodeInitialSet and of reconstruct/loss, for `checkOptions`. */
const SAMPLE_OPTIONS = { seed: is.seed, temperature: is.number({ min: 0 }), latents: is.any };
const RECONSTRUCT_OPTIONS = {
  seed: is.seed,
  temperature: is.number({ min: 0 }),
  initialSet: is.any,
  weights: is.any,
  beta: is.any,
  training: is.any,
};

/**
 * Valid elements per set (host) and the cleaned batch: trailing all-padding columns dropped,
 * an all-ones mask dropped, and padding zeroed (so NaN or 1e30 there cannot reach a sum).
 */
function trimPadding(batch: SetBatch, keepLength = false): { batch: SetBatch; sizes: number[] } {
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
  if (keepLength) last = n; // the padded length counts (slotDenominator 'padded')
  // every kept row valid: the mask says nothing more, and the unmasked path is cheaper
  const full = sizes.every((size) => size === last);
  const x = last === n ? batch.x : slice(batch.x, [0, 0, 0], [b, last, -1]);
  const mask = last === n ? batch.mask : slice(batch.mask, [0, 0], [b, last]);
  if (full) return { batch: { x }, sizes };
  return { batch: { x: zeroPadding(x, mask), mask }, sizes };
}

/**
 * SetVAE. Plain class composing `@setgen/layers` blocks; training, `save` and `load` come
 * from the runtime (`TrainableSetModel`). See the package README.
 *
 * ```ts
 * const model = new SetVAE({ ...SetVAE.presets.setMnist, epochs: 20 });
 * await model.fit(epochBatches(train, { batchSize: 64, seed: 42 }), { onProgress: (p) => console.log(p.losses.total) });
 * const { x, mask } = model.sample([150, 300], { seed: 1 });
 * ```
 */
export class SetVAE extends TrainableSetModel {
  /** The paper's configurations (Table 4–5). */
  static readonly presets = setVAEPresets;
  static readonly className = 'SetVAE';
  /** Fills in a configuration's defaults and checks it (`resolveSetVAEConfig`). */
  static readonly resolveConfig = resolveSetVAEConfig;

  readonly config: ResolvedSetVAEConfig;
  private readonly inputFc: ElementwiseDense;
  private readonly encoder: InducedSetAttentionBlock[];
  private readonly mixture: MixtureOfGaussiansPrior;
  private readonly initialSet: IidCreation;
  private readonly initialFc: ElementwiseDense;
  private readonly decoder: AttentiveBottleneckLayer[];
  private readonly outputFc: ElementwiseDense;
  private readonly random: Random;
  /** How often a training step has seen each set size (generation draws from it). */
  private readonly cardinalityCounts = new Map<number, number>();

  constructor(config: SetVAEConfig) {
    super();
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
      slotDenominator: c.slotDenominator,
    };
    const attention = c.slotAttention ? ('slot' as const) : ('softmax' as const);
    // Encoder: ISABs bottom-up, i.e. the inducing points in reverse (Table 4: 32, 16, 8, 4, 2).
    this.encoder = [...c.inducingPoints].reverse().map(
      (m, i) =>
        new InducedSetAttentionBlock({
          ...blockArgs,
          numInducingPoints: m,
          attention,
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
      // the reference pads every initial set to max_outputs; only its slot denominator sees it
      maxSize: c.slotDenominator === 'padded' ? c.maxOutputs : undefined,
      name: `${id}_initial`,
    });
    this.initialFc = new ElementwiseDense(c.initialSetDim, c.hiddenDim, init, `${id}/initial`);
    // Generator: ABLs top-down; the top level has a learned unconditional prior (Eq. 19).
    // Non-hierarchical (App. B.3): one latent per ABL, every prior unconditional.
    this.decoder = c.inducingPoints.map(
      (m, l) =>
        new AttentiveBottleneckLayer({
          ...blockArgs,
          latentDim: c.latentDim,
          numInducingPoints: c.hierarchical ? m : 1,
          conditionalPrior: c.hierarchical && l > 0,
          attention,
          seed: init.seed(),
          name: `${id}_decoder${l}`,
        }),
    );
    this.outputFc = new ElementwiseDense(c.hiddenDim, c.inputDim, init, `${id}/output`);
    // Build every layer now, so weights exist for the optimizer, save and load.
    for (const layer of [...this.encoder, ...this.decoder]) layer.build([null, null, c.hiddenDim]);
  }

  /** The resolved configuration (every default filled in). */
  getConfig(): ResolvedSetVAEConfig {
    return { ...this.config, inducingPoints: [...this.config.inducingPoints] };
  }

  /** App. D: Adam(lr), LR constant for half of `epochs` then linear to 0; β warm-up over `klWarmupEpochs`. */
  trainingPlan(): TrainingPlan {
    const c = this.config;
    return {
      learningRate: linearDecay(c.learningRate, { totalEpochs: c.epochs, after: 0.5 }),
      lossWeights: linearWarmup('kl', c.beta, c.klWarmupEpochs),
      epochs: c.epochs,
    };
  }

  // ------------------------------------------------------------------ forward passes

  private checkBatch(batch: SetLike, name: string): SetBatch {
    const b = asSetBatch(batch, name);
    const [count, n, d] = b.x.shape;
    if (d !== this.config.inputDim) {
      throw new ShapeError(
        `${name}: expected elements of dimension ${this.config.inputDim} (x [B,N,${this.config.inputDim}]), got ${formatShape(b.x.shape)}`,
      );
    }
    if (count === 0 || n === 0) {
      throw new ShapeError(
        `${name}: expected at least one set of at least one element (x [B≥1,N≥1,${d}]), got ${formatShape(b.x.shape)}`,
      );
    }
    return b;
  }

  /**
   * The trimmed input and its set sizes, each in [1, limit] (for reconstruction they are the
   * output sizes too); with `checkValues`, finite values at every valid element (host read).
   */
  private checkedInput(input: SetBatch, limit: number, checkValues = true) {
    const trimmed = trimPadding(input, this.config.slotDenominator === 'padded');
    const expected = Number.isFinite(limit) ? `1 to ${limit} (config.maxOutputs)` : 'at least one';
    trimmed.sizes.forEach((n, i) => {
      if (n < 1 || n > limit) {
        throw new DataError(
          `${input.mask ? 'batch.mask' : 'batch'}: set ${i} has ${n === 0 ? 'no valid element' : `${n} elements`}; expected ${expected} valid elements per set`,
        );
      }
    });
    if (checkValues) readSetBatch(trimmed.batch, 'batch');
    return trimmed;
  }

  /**
   * Bottom-up encoder (§4): input FC, then ISABs (fine → coarse); each ISAB's projected set
   * h = MAB(I, x) is the deterministic encoding of its level. Permutation invariant in x.
   */
  encode(batch: SetLike): SetVAEEncoding {
    this.checkAlive();
    const input = this.checkBatch(batch, 'batch');
    // a throw inside the tidy releases what trimPadding made
    return tidyObject(() => this.bottomUp(this.checkedInput(input, Number.POSITIVE_INFINITY).batch, true));
  }

  /** The encoder on a trimmed batch; attention maps only when asked for (not in training). */
  private bottomUp(batch: SetBatch, withAttention: boolean): SetVAEEncoding {
    const mask = batch.mask ?? null;
    // padded rows are zeroed by `where` (0·NaN would be NaN), before and after the first FC
    let x = mask
      ? zeroPadding(this.inputFc.apply(zeroPadding(batch.x, mask)), mask)
      : this.inputFc.apply(batch.x);
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

  /** Initial elements z(0) (Eq. 21) for `sizes`: `[B, max(sizes), initialSetDim]` (`maxOutputs` with slotDenominator 'padded'), prefix mask. */
  private drawInitialSet(sizes: number[], seed: number): InitialSet {
    const created = this.initialSet.create(zeros([sizes.length, 1]) as Tensor2D, sizes, { seed });
    const length = created.x.shape[1];
    return { x: created.x, mask: created.mask as Tensor2D, full: sizes.every((n) => n === length) };
  }

  /** A given initial set z(0), checked against `batchSize` sets; padding zeroed (NaN there never reaches a gradient). */
  private givenInitialSet(initialSet: SetLike, batchSize: number | null): InitialSet {
    const initial = asSetBatch(initialSet, 'initialSet');
    const [b, n, d] = initial.x.shape;
    if (d !== this.config.initialSetDim || (batchSize !== null && b !== batchSize)) {
      throw new ShapeError(
        `initialSet: expected x [${batchSize ?? 'B'},N,${this.config.initialSetDim}] (config.initialSetDim), got ${formatShape(initial.x.shape)}`,
      );
    }
    if (n === 0)
      throw new ShapeError(
        `initialSet: expected at least one element per set, got x ${formatShape(initial.x.shape)}`,
      );
    if (!initial.mask) return { x: initial.x, mask: ones([b, n]) as Tensor2D, full: true };
    const valid = initial.mask.dataSync();
    for (let i = 0; i < b; i++) {
      if (!valid.subarray(i * n, (i + 1) * n).some((v) => v > 0.5))
        throw new DataError(`initialSet.mask: set ${i} has no valid element; expected at least one per set`);
    }
    return { x: zeroPadding(initial.x, initial.mask), mask: initial.mask, full: false };
  }

  /**
   * Top-down generator: initial set → ABLs → output FC (→ (tanh+1)/2 for unit-square data).
   * With `features` (inference, Eq. 20) latents come from the residual posteriors; without
   * them (generation, Eq. 19) from the priors, or from `latents` where given.
   */
  private decode(
    features: Tensor3D[] | null,
    initial: InitialSet,
    seed: number,
    {
      temperature = 1,
      withAttention = true,
      latents = [],
    }: Pick<SampleOptions, 'temperature' | 'latents'> & { withAttention?: boolean },
  ): SetVAEOutput {
    const seeds = new Random(seed);
    // an all-ones mask changes nothing: the layers then take their cheaper unmasked path
    const mask = initial.full ? null : initial.mask;
    let x = this.initialFc.apply(initial.x);
    if (mask) x = zeroPadding(x, mask);
    const levels: LevelLatents[] = [];
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
        z: latents[l] ?? null,
        seed: seeds.seed(),
        temperature,
        returnAttention: withAttention,
      });
      x = result.out;
      const { priorMu, priorLogvar, mu: posteriorMu, logvar: posteriorLogvar, z, kl } = result;
      levels.push({ priorMu, priorLogvar, posteriorMu, posteriorLogvar, z, kl });
      if (result.attention) {
        attention.push({
          inducingPoints: abl.numInducingPoints,
          attention: result.attention[0] as Tensor4D,
        });
      }
    });
    let y = this.outputFc.apply(x);
    if (this.config.outputMap === 'unit-interval') y = div(add(tanh(y), 1), 2);
    return { x: mask ? zeroPadding(y, mask) : y, mask: initial.mask, attention, levels };
  }

  /**
   * Sets of the given cardinalities from the prior (§4): any sizes up to `maxOutputs`,
   * including ones never seen in training. → `{ x [B, max(sizes), D], mask, attention, levels }`.
   * A number instead of sizes draws that many sizes from the training cardinalities.
   */
  sample(sizesOrCount: number[] | number, options: SampleOptions = {}): SetVAEOutput {
    this.checkAlive();
    checkOptions(options, SAMPLE_OPTIONS, 'options');
    const { seed, temperature = 1, latents } = options;
    const streams = new Random(seed ?? this.random.seed());
    const sizes =
      typeof sizesOrCount === 'number'
        ? this.sampleSizes(sizesOrCount, { seed: streams.seed() })
        : sizesOrCount;
    this.checkSizes(sizes);
    this.checkLatents(latents, sizes.length);
    return tidyObject(() =>
      this.decode(null, this.drawInitialSet(sizes, streams.seed()), streams.seed(), { temperature, latents }),
    );
  }

  /**
   * Decodes a given initial set z(0) (`x [B, n, initialSetDim]`, optional mask) with latents
   * from the priors. The output is permutation-equivariant in z(0) (Eq. 16); `sample` is this
   * with z(0) drawn from the mixture.
   */
  decodeInitialSet(initialSet: SetLike, options: SampleOptions = {}): SetVAEOutput {
    this.checkAlive();
    checkOptions(options, SAMPLE_OPTIONS, 'options');
    const { seed, temperature = 1, latents } = options;
    return tidyObject(() => {
      const initial = this.givenInitialSet(initialSet, null);
      this.checkLatents(latents, initial.x.shape[0]);
      return this.decode(null, initial, seed ?? this.random.seed(), { temperature, latents });
    });
  }

  private checkLatents(latents: SampleOptions['latents'], batchSize: number): void {
    if (latents === undefined) return;
    if (!Array.isArray(latents) || latents.length > this.decoder.length) {
      throw new ConfigError(
        `options.latents: expected an array of at most ${this.decoder.length} levels (top-down)`,
      );
    }
    latents.forEach((z: Tensor3D | null | undefined, l: number) => {
      const want = [batchSize, this.decoder[l].numInducingPoints, this.config.latentDim];
      if (
        z !== null &&
        z !== undefined &&
        !(z.rank === 3 && z.shape.every((d: number, i: number) => d === want[i]))
      ) {
        throw new ShapeError(
          `options.latents[${l}]: expected ${formatShape(want)}, got ${formatShape(z.shape)}`,
        );
      }
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

  /** Encode, draw the posterior latents (Eq. 20) and decode at the input's cardinalities (or from `initialSet`). */
  reconstruct(batch: SetLike, options: ReconstructOptions = {}): SetVAEOutput {
    this.checkAlive();
    return tidyObject(() => this.inference(batch, options, 'reconstruct').out);
  }

  /**
   * Checks, encodes and decodes a batch (inside the caller's tidy). For `loss` the input's
   * values are not read here (the runtime checks a training batch; `loss` names a NaN input
   * when Chamfer meets it) and no attention maps are made.
   */
  private inference(batch: SetLike, options: ReconstructOptions, purpose: 'reconstruct' | 'loss') {
    const withAttention = purpose === 'reconstruct';
    checkOptions(options, RECONSTRUCT_OPTIONS, 'options');
    const { seed, temperature = 1, initialSet } = options;
    const input = this.checkBatch(batch, 'batch');
    const given = initialSet === undefined ? null : this.givenInitialSet(initialSet, input.x.shape[0]);
    const { batch: trimmed, sizes } = this.checkedInput(input, this.config.maxOutputs, withAttention);
    const streams = new Random(seed ?? this.random.seed());
    const { features } = this.bottomUp(trimmed, false);
    const initial = given ?? this.drawInitialSet(sizes, streams.seed());
    const out = this.decode(features, initial, streams.seed(), { temperature, withAttention });
    return { out, trimmed, initial };
  }

  /**
   * Eq. 25: Chamfer (Eq. 24: sum of squared nearest-neighbour distances both ways, mean
   * over the batch) + β·Σ_l KL_l (mean over the batch; max(KL_l, λ) with `freeBits` λ).
   * β: `weights.kl`, else `beta`, else
   * `config.beta` (`fit` passes the warm-up's β as `weights.kl`).
   */
  loss(
    batch: TrainBatch | SetLike,
    options: ReconstructOptions & LossOptions & { beta?: number } = {},
  ): SetVAELoss {
    this.checkAlive();
    const beta = options.weights?.kl ?? options.beta ?? this.config.beta;
    if (typeof beta !== 'number' || !(beta >= 0 && Number.isFinite(beta))) {
      throw new ConfigError(`options.beta: expected a finite number >= 0, got ${JSON.stringify(beta)}`);
    }
    const { x, mask } = batch as TrainBatch;
    return tidyObject(() => {
      const { out, trimmed, initial } = this.inference(
        x && 'dataId' in x ? { x, mask } : (batch as SetLike),
        options,
        'loss',
      );
      const recon = this.reconstructionLoss(initial.full ? out.x : { x: out.x, mask: out.mask }, trimmed);
      const klPerLevel = out.levels.map((level) => mean(level.kl) as Scalar);
      const sum = (terms: Scalar[]) => (terms.length > 0 ? addN(terms) : scalar(0)) as Scalar;
      const kl = sum(klPerLevel);
      // free bits λ: a level's KL below λ nats costs λ (no gradient), as Kingma et al. 2016
      const { freeBits } = this.config;
      const penalty = freeBits > 0 ? sum(klPerLevel.map((k) => maximum(k, freeBits) as Scalar)) : kl;
      const total = add(recon, mul(penalty, beta)) as Scalar;
      return Object.assign(
        { total, recon, kl },
        ...klPerLevel.map((k, l) => ({ [`kl${l}`]: k })),
      ) as SetVAELoss;
    });
  }

  /**
   * Eq. 24. Chamfer refuses non-finite values at valid elements; that error is reworded to
   * name what holds them: the caller's batch, or else the model's own output (diverged weights).
   */
  private reconstructionLoss(output: SetLike, input: SetBatch): Scalar {
    try {
      return chamferDistance(output, input, { pointReduction: 'sum', reduction: 'mean' }) as Scalar;
    } catch (error) {
      if (!(error instanceof DataError && /finite/.test(error.message))) throw error;
      readSetBatch(input, 'batch'); // throws when the input holds them
      throw new DataError(
        `loss: the model's reconstruction is not finite (${error.message.replace(/^\w+: expected finite values, got /, '')}) although the batch is: its weights have diverged or overflowed`,
      );
    }
  }

  // ------------------------------------------------------------------ what the runtime needs

  /** Every trainable variable, in a fixed order (the optimizer's moments follow it). */
  get trainableVariables(): Variable[] {
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
  namedWeights(): NamedVariable[] {
    const layer = (key: string, weights: LayerVariable[]) =>
      weights.map((w, i) => ({ name: `${key}/${i}`, variable: w.read() as Variable }));
    const dense = (key: string, d: ElementwiseDense) => [
      { name: `${key}/kernel`, variable: d.kernel },
      { name: `${key}/bias`, variable: d.bias },
    ];
    return [
      ...dense('input', this.inputFc),
      ...this.encoder.flatMap((e, i) => layer(`encoder${i}`, e.weights)),
      ...layer('mixture', this.mixture.weights),
      ...dense('initial', this.initialFc),
      ...this.decoder.flatMap((d, l) => layer(`decoder${l}`, d.weights)),
      ...dense('output', this.outputFc),
    ];
  }

  /** Counts the set sizes of a trained batch (`sample(count)` draws from them). */
  afterTrainStep(batch: TrainBatch): void {
    const [b, n] = batch.x.shape;
    const mask = batch.mask?.dataSync();
    for (let i = 0; i < b; i++) {
      let size = n;
      if (mask) {
        size = 0;
        for (let j = 0; j < n; j++) size += mask[i * n + j] === 1 ? 1 : 0;
      }
      this.cardinalityCounts.set(size, (this.cardinalityCounts.get(size) ?? 0) + 1);
    }
  }

  /** Saved in checkpoints beside the weights: how many training sets of each size were seen. */
  trainingState(): Record<string, unknown> {
    return { cardinalities: [...this.cardinalityCounts.entries()].sort((a, b) => a[0] - b[0]) };
  }

  /** Restores what `trainingState` returned (a `DataError` when it is malformed). */
  restoreTrainingState(state: Record<string, unknown>): void {
    const pairs = state.cardinalities ?? [];
    const valid =
      Array.isArray(pairs) &&
      pairs.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v > 0));
    if (!valid)
      throw new DataError(
        `cardinalities: expected [size, count] pairs of positive integers, got ${JSON.stringify(pairs)}`,
      );
    this.cardinalityCounts.clear();
    for (const [size, count] of pairs as [number, number][]) this.cardinalityCounts.set(size, count);
  }

  protected disposeWeights(): void {
    this.inputFc.dispose();
    this.initialFc.dispose();
    this.outputFc.dispose();
    // the initial set holds the mixture's weights: dispose each variable once
    const weights = new Set(
      [...this.encoder, ...this.decoder, this.mixture].flatMap((layer) => layer.weights),
    );
    for (const w of weights) w.dispose();
  }
}

registerModel(SetVAE);
