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
import { chamferDistance, Random, type SetBatch, type SetLike } from '@setgen/ops';
import { checkNumber, checkOptions, zeroPadding } from '@setgen/ops/internal';
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseDense } from './dense.js';
import { registerModel } from './runtime/registry.js';
import { linearDecay, linearWarmup } from './runtime/schedules.js';
import { mixSeed } from './runtime/seeds.js';
import type { LossOptions, NamedVariable, TrainBatch, TrainingPlan } from './runtime/set-model.js';
import { layerWeights } from './runtime/set-model.js';
import { SizeHistogram } from './runtime/size-histogram.js';
import { tidyObject } from './runtime/tidy-object.js';
import { TrainableSetModel } from './runtime/trainable-set-model.js';
import { blameNonFinite, checkPerLevel, checkSizes, readSetInput } from './set-input.js';
import {
  type ResolvedSetVAEConfig,
  resolveSetVAEConfig,
  type SetVAEConfig,
  setVAEPresets,
} from './setvae-config.js';
import {
  type DecodeOptions,
  type InitialSet,
  type LevelAttention,
  type LevelLatents,
  RECONSTRUCT_OPTIONS,
  type ReconstructOptions,
  SAMPLE_OPTIONS,
  type SampleOptions,
  type SetVAEEncoding,
  type SetVAELoss,
  type SetVAEOutput,
} from './setvae-types.js';

let instances = 0;

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
  /** The set sizes seen in training (generation draws from them). */
  private readonly sizes = new SizeHistogram();

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
      attention: c.slotAttention ? ('slot' as const) : ('softmax' as const),
      slotDenominator: c.slotDenominator,
    };
    // Encoder: ISABs bottom-up, i.e. the inducing points in reverse (Table 4: 32, 16, 8, 4, 2).
    this.encoder = [...c.inducingPoints].reverse().map(
      (m, i) =>
        new InducedSetAttentionBlock({
          ...blockArgs,
          numInducingPoints: m,
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

  /** The input batch checked and trimmed (its padded length kept where it counts, slotDenominator 'padded'). */
  private checkedInput(batch: SetLike, maxOutputs: boolean, checkValues: boolean) {
    const c = this.config;
    const maxSize = maxOutputs ? { value: c.maxOutputs, name: 'config.maxOutputs' } : undefined;
    const keepLength = c.slotDenominator === 'padded';
    return readSetInput(batch, 'batch', {
      dim: c.inputDim,
      dimName: 'config.inputDim',
      maxSize,
      keepLength,
      checkValues,
    });
  }

  /**
   * Bottom-up encoder (§4): input FC, then ISABs (fine → coarse); each ISAB's projected set
   * h = MAB(I, x) is the deterministic encoding of its level. Permutation invariant in x.
   */
  encode(batch: SetLike): SetVAEEncoding {
    this.checkAlive();
    // a throw inside the tidy releases what readSetInput made
    return tidyObject(() => this.bottomUp(this.checkedInput(batch, false, true).batch, true));
  }

  /** The encoder on a trimmed batch; attention maps only when asked for (not in training). */
  private bottomUp(batch: SetBatch, withAttention: boolean): SetVAEEncoding {
    const mask = batch.mask ?? null;
    // padding arrives as zeros (trimPadding selects, 0·NaN would be NaN); the FC's bias is cleared there
    let x = this.inputFc.apply(batch.x);
    if (mask) x = zeroPadding(x, mask);
    const features: tf.Tensor3D[] = [];
    const attention: tf.Tensor4D[] = [];
    const below = this.encoder.slice(0, -1);
    for (const isab of below) {
      const result = isab.forward(x, { mask, returnAttention: withAttention });
      x = result.out;
      features.push(result.h);
      if (result.attention) attention.push(result.attention[0] as tf.Tensor4D);
    }
    // the top level's broadcast back to the set would feed nothing: its projection alone
    const top = this.encoder[below.length].project(x, { mask, returnAttention: withAttention });
    features.push(top.h);
    if (top.attention) attention.push(top.attention as tf.Tensor4D);
    return { features: features.reverse(), attention: attention.reverse() };
  }

  /** Initial elements z(0) (Eq. 21) for `sizes`: `[B, max(sizes), initialSetDim]` (`maxOutputs` with slotDenominator 'padded'), prefix mask. */
  private drawInitialSet(sizes: number[], seed: number): InitialSet {
    const created = this.initialSet.create(tf.zeros([sizes.length, 1]) as tf.Tensor2D, sizes, { seed });
    const length = created.x.shape[1];
    return { x: created.x, mask: created.mask as tf.Tensor2D, full: sizes.every((n) => n === length) };
  }

  /** A given initial set z(0) for `batchSize` sets, padding zeroed (NaN there never reaches a gradient). */
  private givenInitialSet(initialSet: SetLike, batchSize?: number): InitialSet {
    const dims = { dim: this.config.initialSetDim, dimName: 'config.initialSetDim', batchSize };
    const { x, mask } = readSetInput(initialSet, 'initialSet', { ...dims, keepLength: true }).batch;
    return { x, mask: mask ?? (tf.ones([x.shape[0], x.shape[1]]) as tf.Tensor2D), full: !mask };
  }

  /**
   * Top-down generator: initial set → ABLs → output FC (→ (tanh+1)/2 for unit-square data).
   * With `features` (inference, Eq. 20) latents come from the residual posteriors; without
   * them (generation, Eq. 19) from the priors, or from `latents` where given.
   */
  private decode(features: tf.Tensor3D[] | null, initial: InitialSet, seed: number, options: DecodeOptions) {
    const { temperature = 1, withAttention = true, latents = [] } = options;
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
        ? (tf.div(tf.addN(features.map((h) => tf.mean(h, 1, true))), features.length) as tf.Tensor3D)
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
          attention: result.attention[0] as tf.Tensor4D,
        });
      }
    });
    let y = this.outputFc.apply(x);
    if (this.config.outputMap === 'unit-interval') y = tf.div(tf.add(tf.tanh(y), 1), 2);
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
    checkSizes(sizes, 'sizes', { value: this.config.maxOutputs, name: 'config.maxOutputs' });
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
      const initial = this.givenInitialSet(initialSet);
      this.checkLatents(latents, initial.x.shape[0]);
      return this.decode(null, initial, seed ?? this.random.seed(), { temperature, latents });
    });
  }

  private checkLatents(latents: SampleOptions['latents'], batchSize: number): void {
    const shapes = this.decoder.map((abl) => [batchSize, abl.numInducingPoints, this.config.latentDim]);
    checkPerLevel(latents, shapes, 'options.latents');
  }

  /**
   * `count` set sizes drawn from the cardinalities seen in training (SetVAE does not predict
   * n; generation uses the data's sizes). `ConfigError` before any training.
   */
  sampleSizes(count: number, { seed }: { seed?: number } = {}): number[] {
    return this.sizes.draw(count, () => new Random(seed ?? this.random.seed()));
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
    const { batch: trimmed, sizes } = this.checkedInput(batch, true, withAttention);
    const given = initialSet === undefined ? null : this.givenInitialSet(initialSet, trimmed.x.shape[0]);
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
    const beta = checkNumber(options.weights?.kl ?? options.beta ?? this.config.beta, 'options.beta', {
      min: 0,
    });
    return tidyObject(() => {
      // a TrainBatch is a SetBatch with more fields (this model reads x and mask)
      const { out, trimmed, initial } = this.inference(batch as SetLike, options, 'loss');
      // Eq. 24; a NaN met there is the caller's (named) or the model's own (diverged weights)
      const output = initial.full ? out.x : { x: out.x, mask: out.mask };
      const recon = blameNonFinite(
        () => chamferDistance(output, trimmed, { pointReduction: 'sum', reduction: 'mean' }) as tf.Scalar,
        trimmed,
        "loss: the model's reconstruction",
      );
      const klPerLevel = out.levels.map((level) => tf.mean(level.kl) as tf.Scalar);
      const sum = (terms: tf.Scalar[]) => (terms.length > 0 ? tf.addN(terms) : tf.scalar(0)) as tf.Scalar;
      const kl = sum(klPerLevel);
      // free bits λ: a level's KL below λ nats costs λ (no gradient), as Kingma et al. 2016
      const { freeBits } = this.config;
      const penalty = freeBits > 0 ? sum(klPerLevel.map((k) => tf.maximum(k, freeBits) as tf.Scalar)) : kl;
      const total = tf.add(recon, tf.mul(penalty, beta)) as tf.Scalar;
      return Object.assign(
        { total, recon, kl },
        ...klPerLevel.map((k, l) => ({ [`kl${l}`]: k })),
      ) as SetVAELoss;
    });
  }

  // ------------------------------------------------------------------ what the runtime needs

  /** Every trainable variable, in a fixed order (the optimizer's moments follow it). */
  override get trainableVariables(): tf.Variable[] {
    const read = (layer: { trainableWeights: { read(): tf.Tensor }[] }) =>
      layer.trainableWeights.map((w) => w.read() as tf.Variable);
    return [
      ...this.inputFc.variables,
      ...this.encoder.flatMap(read),
      ...read(this.initialSet),
      ...this.initialFc.variables,
      ...this.decoder.flatMap(read),
      ...this.outputFc.variables,
    ];
  }

  /** Every weight with a stable checkpoint name, in a fixed order. */
  namedWeights(): NamedVariable[] {
    return [
      ...this.inputFc.namedWeights('input'),
      ...this.encoder.flatMap((e, i) => layerWeights(`encoder${i}`, e.weights)),
      ...layerWeights('mixture', this.mixture.weights),
      ...this.initialFc.namedWeights('initial'),
      ...this.decoder.flatMap((d, l) => layerWeights(`decoder${l}`, d.weights)),
      ...this.outputFc.namedWeights('output'),
    ];
  }

  /** Counts the set sizes of a trained batch (`sample(count)` draws from them). */
  afterTrainStep(batch: TrainBatch): void {
    this.sizes.record(batch);
  }

  /** Saved in checkpoints beside the weights: how many training sets of each size were seen. */
  trainingState(): Record<string, unknown> {
    return { cardinalities: this.sizes.entries() };
  }

  /** Restores what `trainingState` returned (a `DataError` when it is malformed). */
  restoreTrainingState(state: Record<string, unknown>): void {
    this.sizes.restore(state.cardinalities ?? []);
  }

  protected disposeWeights(): void {
    for (const { variable } of this.namedWeights()) variable.dispose(); // each weight once
  }
}

registerModel(SetVAE);
