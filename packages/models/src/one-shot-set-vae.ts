// One-shot set VAE of the Top-n paper (Vignac & Frossard, ICLR 2022; §2, §4, §5.3, App. D.2;
// cvignac/Top-N model.py, REFERENCES.md §7.2–7.4). Encoder: element MLP → attention blocks →
// PNA pooling → MLP → (μ, log σ²). Decoder: a creation module makes X0 from z and n (Top-n,
// First-n, i.i.d. or MLP), a linear layer on X0 modulated by z (FiLM, Eq. 10–11), attention
// blocks, an MLP to positions. Loss (App. D.2): W reconstruction (Hungarian, Euclidean,
// per-set mean, summed over the batch) + λ1·KL + λ2·reg2 (minimum distance) + λ3·reg3
// (valency), with the reference's λ = 0.003, 200, 200. The model holds the math; training,
// schedules (reduce-on-plateau, clipping) and checkpoints come from the models runtime.

import {
  FiLM,
  FirstNCreation,
  IidCreation,
  MLPCreation,
  type SetAttentionBlock,
  type SetCreationLayer,
  sab,
  setPooling,
  TopNCreation,
} from '@setgen/layers';
import {
  ConfigError,
  DataError,
  formatShape,
  type HostSet,
  hungarianLoss,
  Random,
  type SetBatch,
  ShapeError,
} from '@setgen/ops';
import { elementMask, zeroPadding } from '@setgen/ops/internal';
import {
  abs,
  add,
  exp,
  expandDims,
  maximum,
  mul,
  randomNormal,
  relu,
  reshape,
  type Scalar,
  slice,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor1d,
  tensor2d,
  tensor3d,
  tidy,
} from '@tensorflow/tfjs-core';
import { ElementwiseDense } from './dense.js';
import { registerModel } from './runtime/registry.js';
import { type LearningRateSchedule, reduceOnPlateau } from './runtime/schedules.js';
import type { LossOptions, LossTerms, NamedVariable, TrainBatch, TrainingPlan } from './runtime/set-model.js';
import { layerWeights } from './runtime/set-model.js';
import { TrainableSetModel } from './runtime/trainable-set-model.js';

/** The creation modules of the paper (§2.1, §4). */
export type CreationMethod = 'topn' | 'firstn' | 'iid' | 'mlp';
/** Every `CreationMethod`, for validation and iteration. */
export const CREATION_METHODS: readonly CreationMethod[] = ['topn', 'firstn', 'iid', 'mlp'];

/** Weights of the loss terms (App. D.2 λ1, λ2, λ3; `size` = the reference's λ_n). */
export interface OneShotLossWeights {
  /** KL weight λ1; default 0.003 (reference `lmbdas[0]`). */
  kl: number;
  /** Minimum-distance penalty reg2, λ2; default 200. */
  minDistance: number;
  /** Valency penalty reg3, λ3; default 200. */
  valency: number;
  /** L1 loss of the predicted size (only with `cardinality: 'latent'`); default 1 (the reference's 0 would leave the predictor untrained). */
  size: number;
}

/** Options of `OneShotSetVAE`; every field but `creation` has the reference's default. */
export interface OneShotSetVAEConfig {
  /** The creation module. */
  creation: CreationMethod;
  /** Features per input element (positions first); default 7 = 3-D position + one-hot(4) atom type. */
  inputDim?: number;
  /** Leading input channels reconstructed (the positions); default 3. */
  outputDim?: number;
  /** Largest set the model trains on; default 35. */
  maxSize?: number;
  /** Top-n reference set size n0 (≥ maxSize); default maxSize. Largest set Top-n can create. */
  referenceSize?: number;
  /** Latent dimension; default 30. */
  latentDim?: number;
  /** Channels of the created set X0 (`set_channels`); default 16. */
  setChannels?: number;
  /** Top-n angle dimension (`cosine_channels`); default 3. */
  angleDim?: number;
  /** Width of the attention blocks; default 64. */
  hiddenDim?: number;
  /** Attention heads; default 4. */
  numHeads?: number;
  /** Attention blocks in the encoder and in the decoder; default 3 each. */
  encoderBlocks?: number;
  decoderBlocks?: number;
  /** Hidden width of the element MLPs around the blocks; default 128. */
  mlpHidden?: number;
  /** Hidden width of the MLP creation module; default 512. */
  mlpCreationHidden?: number;
  /** How `sample` picks sizes: 'histogram' (the training sizes, the paper's choice) or 'latent' (MLP(z) + averageSize). */
  cardinality?: 'histogram' | 'latent';
  /** Training-set size counts, index = size (see `OneShotSetVAE.sizeHistogram`); needed by 'histogram' sampling. */
  sizeHistogram?: number[] | null;
  /** Constant added to the size predictor's output; default 11 (the reference's `average_n`). */
  averageSize?: number;
  /** Loss weights; missing entries take the defaults. */
  lossWeights?: Partial<OneShotLossWeights>;
  /** reg2's d0; default 1. */
  minDistance?: number;
  /** Bond length d1 of reg3; default 2. */
  neighbourDistance?: number;
  /** Neighbours allowed before reg3 pushes them beyond d1; default 4. */
  maxValency?: number;
  /** Seed of the initial weights and the default noise stream; default 0. */
  seed?: number;
  /** Adam's learning rate at the start; default 2e-4 (the reference). */
  learningRate?: number;
  /** Reduce-on-plateau: halve the rate after this many epochs without improvement of the epoch's mean total loss; default 750. */
  plateauPatience?: number;
  /** Floor of the learning rate; default 1e-6. */
  minLearningRate?: number;
  /** Clip the global gradient norm to this; default 4. */
  clipNorm?: number;
  /** Default length of `fit`; default 10000 epochs (the reference stops earlier once the rate is below 1e-5). */
  epochs?: number;
  /**
   * Penalty schedule in epochs `[start, end]`: the minDistance and valency weights are 0
   * before `start` and rise linearly to their `lossWeights` at `end`; the plateau schedule
   * counts only from `end`. Default [0, 0] = full weights from the start (the reference).
   */
  penaltyRamp?: [number, number];
}

/** A configuration with every default filled in (what `OneShotSetVAE.resolveConfig` returns). */
export type ResolvedOneShotSetVAEConfig = Required<
  Omit<OneShotSetVAEConfig, 'sizeHistogram' | 'lossWeights'>
> & {
  sizeHistogram: number[] | null;
  lossWeights: OneShotLossWeights;
};

/** Options of `sample`. */
export interface OneShotSampleOptions {
  /** Seed of z, the sizes and (i.i.d. creation) the initial set; default: the model's own stream. */
  seed?: number;
  /** Sizes of the sets; default: drawn as `config.cardinality` says. */
  sizes?: number[];
  /** Added to each drawn size (the paper's extrapolation setting uses +10), clamped to the largest creatable size. */
  extraSize?: number;
}

/** Options of `reconstruct`. */
export interface OneShotReconstructOptions {
  /** Decode μ (default, the reference's `reconstruct`) or a posterior draw. */
  useMean?: boolean;
  seed?: number;
}

let instances = 0;

const DEFAULT_WEIGHTS: OneShotLossWeights = { kl: 0.003, minDistance: 200, valency: 200, size: 1 };

function positiveInteger(value: unknown, name: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new ConfigError(`OneShotSetVAE: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ConfigError(`OneShotSetVAE: ${name} must be a finite number > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw new ConfigError(`OneShotSetVAE: ${name} must be an integer ≥ 0, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

function nonNegativeNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new ConfigError(`OneShotSetVAE: ${name} must be a finite number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Fills the defaults in and checks every field; `ConfigError` names the bad one. */
export function resolveOneShotConfig(config: OneShotSetVAEConfig): ResolvedOneShotSetVAEConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(`OneShotSetVAE: expected a config object, got ${JSON.stringify(config)}`);
  }
  if (!CREATION_METHODS.includes(config.creation)) {
    throw new ConfigError(
      `OneShotSetVAE: creation must be one of ${CREATION_METHODS.map((m) => `'${m}'`).join(' | ')}, got ${JSON.stringify(config.creation)}`,
    );
  }
  const maxSize = positiveInteger(config.maxSize ?? 35, 'maxSize');
  const referenceSize = positiveInteger(config.referenceSize ?? maxSize, 'referenceSize');
  if (referenceSize < maxSize) {
    throw new ConfigError(
      `OneShotSetVAE: referenceSize (${referenceSize}) must be ≥ maxSize (${maxSize}): top-n picks n of the reference points`,
    );
  }
  const inputDim = positiveInteger(config.inputDim ?? 7, 'inputDim');
  const outputDim = positiveInteger(config.outputDim ?? 3, 'outputDim');
  if (outputDim > inputDim) {
    throw new ConfigError(`OneShotSetVAE: outputDim (${outputDim}) must be ≤ inputDim (${inputDim})`);
  }
  const hiddenDim = positiveInteger(config.hiddenDim ?? 64, 'hiddenDim');
  const numHeads = positiveInteger(config.numHeads ?? 4, 'numHeads');
  if (hiddenDim % numHeads !== 0) {
    throw new ConfigError(
      `OneShotSetVAE: hiddenDim (${hiddenDim}) must be a multiple of numHeads (${numHeads})`,
    );
  }
  const cardinality = config.cardinality ?? 'histogram';
  if (cardinality !== 'histogram' && cardinality !== 'latent') {
    throw new ConfigError(
      `OneShotSetVAE: cardinality must be 'histogram' | 'latent', got ${JSON.stringify(cardinality)}`,
    );
  }
  let sizeHistogram: number[] | null = null;
  if (config.sizeHistogram !== undefined && config.sizeHistogram !== null) {
    const h = config.sizeHistogram;
    if (!Array.isArray(h) || h.length === 0 || h.some((c) => !(c >= 0) || !Number.isFinite(c))) {
      throw new ConfigError(
        'OneShotSetVAE: sizeHistogram must be an array of non-negative counts indexed by size',
      );
    }
    if (!(h.slice(1).reduce((a, b) => a + b, 0) > 0)) {
      throw new ConfigError('OneShotSetVAE: sizeHistogram must count at least one set of size ≥ 1');
    }
    const largest = h.reduce((m, c, n) => (c > 0 ? n : m), 0);
    const limit = config.creation === 'topn' ? referenceSize : maxSize;
    if (config.creation !== 'iid' && largest > limit) {
      throw new ConfigError(
        `OneShotSetVAE: sizeHistogram counts sets of size ${largest}, above the largest creatable size ${limit}`,
      );
    }
    sizeHistogram = [...h];
  }
  const weights = { ...DEFAULT_WEIGHTS, ...(config.lossWeights ?? {}) };
  for (const [k, v] of Object.entries(weights)) {
    if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      throw new ConfigError(
        `OneShotSetVAE: lossWeights.${k} must be a finite number ≥ 0, got ${JSON.stringify(v)}`,
      );
    }
  }
  const seed = config.seed ?? 0;
  if (!Number.isInteger(seed)) throw new ConfigError(`OneShotSetVAE: seed must be an integer, got ${seed}`);
  const ramp = config.penaltyRamp ?? [0, 0];
  if (
    !Array.isArray(ramp) ||
    ramp.length !== 2 ||
    !ramp.every((e) => typeof e === 'number' && e >= 0 && Number.isFinite(e)) ||
    ramp[1] < ramp[0]
  ) {
    throw new ConfigError(
      `OneShotSetVAE: penaltyRamp must be [start, end] epochs with 0 ≤ start ≤ end, got ${JSON.stringify(ramp)}`,
    );
  }
  const minDistance = positiveNumber(config.minDistance ?? 1, 'minDistance');
  const neighbourDistance = positiveNumber(config.neighbourDistance ?? 2, 'neighbourDistance');
  return {
    creation: config.creation,
    inputDim,
    outputDim,
    maxSize,
    referenceSize,
    latentDim: positiveInteger(config.latentDim ?? 30, 'latentDim'),
    setChannels: positiveInteger(config.setChannels ?? 16, 'setChannels'),
    angleDim: positiveInteger(config.angleDim ?? 3, 'angleDim'),
    hiddenDim,
    numHeads,
    encoderBlocks: positiveInteger(config.encoderBlocks ?? 3, 'encoderBlocks'),
    decoderBlocks: positiveInteger(config.decoderBlocks ?? 3, 'decoderBlocks'),
    mlpHidden: positiveInteger(config.mlpHidden ?? 128, 'mlpHidden'),
    mlpCreationHidden: positiveInteger(config.mlpCreationHidden ?? 512, 'mlpCreationHidden'),
    cardinality,
    sizeHistogram,
    averageSize: positiveNumber(config.averageSize ?? 11, 'averageSize'),
    lossWeights: weights,
    minDistance,
    neighbourDistance,
    maxValency: positiveInteger(config.maxValency ?? 4, 'maxValency'),
    seed,
    learningRate: positiveNumber(config.learningRate ?? 2e-4, 'learningRate'),
    plateauPatience: nonNegativeInteger(config.plateauPatience ?? 750, 'plateauPatience'),
    minLearningRate: nonNegativeNumber(config.minLearningRate ?? 1e-6, 'minLearningRate'),
    clipNorm: positiveNumber(config.clipNorm ?? 4, 'clipNorm'),
    epochs: positiveNumber(config.epochs ?? 10000, 'epochs'),
    penaltyRamp: [ramp[0], ramp[1]],
  };
}

/**
 * Valid elements per set (host). An entry is an element where `mask > 0.5` (the one definition,
 * `elementMask` of @setgen/ops); the elements must come first in each row (the decoder makes
 * prefix sets).
 */
function readSizes(batch: SetBatch): number[] {
  const [b, n] = batch.x.shape;
  if (!batch.mask) return new Array<number>(b).fill(n);
  const values = batch.mask.dataSync();
  return Array.from({ length: b }, (_, i) => {
    let size = 0;
    for (let j = 0; j < n; j++) {
      if (!(values[i * n + j] > 0.5)) continue;
      if (size !== j) {
        throw new DataError(`batch.mask: expected a prefix mask (elements first), row ${i} is not`);
      }
      size++;
    }
    return size;
  });
}

/**
 * What the penalties take from the host: `pairs[b,i,j] = 1` for two distinct elements, and the
 * discrete choices of the valency penalty, made from detached squared distances (as the
 * Hungarian assignment): `nearest[b,i,j] = 1` for i's nearest other element, and
 * `beyond[b,i,j] = 1` for every j after i's `maxValency` nearest (the reference's
 * `sort(D)[:, :, 1:][..., maxValency:]`; ties by index). Rows of sets with fewer than 2
 * elements stay 0.
 */
function neighbourRanks(
  squared: Float32Array | Int32Array | Uint8Array,
  sizes: number[],
  length: number,
  maxValency: number,
): { pairs: Float32Array; nearest: Float32Array; beyond: Float32Array } {
  const pairs = new Float32Array(sizes.length * length * length);
  const nearest = new Float32Array(sizes.length * length * length);
  const beyond = new Float32Array(sizes.length * length * length);
  const order = new Int32Array(length);
  sizes.forEach((n, b) => {
    for (let i = 0; i < n; i++) {
      const row = (b * length + i) * length;
      // the other elements by (distance, index): an insertion sort, n is small
      let count = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        pairs[row + j] = 1;
        let k = count++;
        while (k > 0 && squared[row + order[k - 1]] > squared[row + j]) {
          order[k] = order[k - 1];
          k--;
        }
        order[k] = j;
      }
      if (count === 0) continue;
      nearest[row + order[0]] = 1;
      for (let k = maxValency; k < count; k++) beyond[row + order[k]] = 1;
    }
  });
  return { pairs, nearest, beyond };
}

/**
 * The one-shot set VAE of the Top-n paper, `new OneShotSetVAE({ creation: 'topn' })`.
 * Implements the runtime's `SetModel`: `loss(batch)` returns `{ total, recon, kl,
 * minDistance, valency[, size] }` (raw terms; total = recon + Σ λ·term). Batches: `x [B, N,
 * inputDim]` with the positions in the first `outputDim` channels, prefix `mask [B, N]`.
 */
export class OneShotSetVAE extends TrainableSetModel {
  static readonly className = 'OneShotSetVAE';
  /** Fills in a configuration's defaults and checks it. */
  static readonly resolveConfig = resolveOneShotConfig;
  /** Every loss term is a sum over the sets of the batch (the reference's `reduction: 'sum'`). */
  readonly batchReduction = 'sum';
  readonly config: ResolvedOneShotSetVAEConfig;
  private readonly encoderMlp: ElementwiseDense[];
  private readonly encoderBlocks: SetAttentionBlock[];
  private readonly encoderHead: ElementwiseDense[];
  private readonly creation: SetCreationLayer;
  private readonly decoderInput: ElementwiseDense;
  private readonly latentFilm: FiLM;
  private readonly decoderMlp: ElementwiseDense;
  private readonly decoderBlocks: SetAttentionBlock[];
  private readonly decoderHead: ElementwiseDense[];
  private readonly sizePredictor: ElementwiseDense[];
  private readonly random: Random;

  constructor(config: OneShotSetVAEConfig) {
    super();
    this.config = resolveOneShotConfig(config);
    const c = this.config;
    const init = new Random(c.seed);
    this.random = new Random(init.seed());
    const dense = (i: number, o: number, name: string) => new ElementwiseDense(i, o, init, name);
    const uid = `oneshot${++instances}`; // tf variable names are global
    const blocks = (count: number, part: string) =>
      Array.from({ length: count }, (_, i) => {
        const block = sab({
          units: c.hiddenDim,
          numHeads: c.numHeads,
          seed: init.seed(),
          name: `${uid}_${part}${i}`,
        });
        block.build([null, null, c.hiddenDim]);
        return block;
      });
    // Encoder (App. D.2): 2-layer MLP, attention blocks, PNA, 2-layer MLP → 2·latentDim.
    this.encoderMlp = [
      dense(c.inputDim, c.mlpHidden, `${uid}/enc_in1`),
      dense(c.mlpHidden, c.hiddenDim, `${uid}/enc_in2`),
    ];
    this.encoderBlocks = blocks(c.encoderBlocks, 'enc');
    this.encoderHead = [
      dense(4 * c.hiddenDim, c.mlpHidden, `${uid}/enc_out1`),
      dense(c.mlpHidden, 2 * c.latentDim, `${uid}/enc_out2`),
    ];
    // Creation module (§2.1, §4).
    const creationArgs = { featureDim: c.setChannels, seed: init.seed(), name: `${uid}_creation` };
    this.creation =
      c.creation === 'topn'
        ? new TopNCreation({
            ...creationArgs,
            referenceSize: c.referenceSize,
            angleDim: c.angleDim,
            maxSize: c.maxSize,
          })
        : c.creation === 'firstn'
          ? new FirstNCreation({ ...creationArgs, maxSize: c.maxSize })
          : c.creation === 'mlp'
            ? new MLPCreation({ ...creationArgs, maxSize: c.maxSize, hiddenUnits: c.mlpCreationHidden })
            : new IidCreation({ ...creationArgs, prior: 'normal', scaleBySqrtN: true });
    this.creation.build([null, c.latentDim]);
    // Decoder: linear on X0 with the latent FiLM (Eq. 10–11), a second dense, blocks, MLP → positions.
    this.decoderInput = dense(c.setChannels, c.mlpHidden, `${uid}/dec_in1`);
    this.latentFilm = new FiLM({ seed: init.seed(), name: `${uid}_film` });
    this.latentFilm.build([
      [null, null, c.mlpHidden],
      [null, c.latentDim],
    ]);
    this.decoderMlp = dense(c.mlpHidden, c.hiddenDim, `${uid}/dec_in2`);
    this.decoderBlocks = blocks(c.decoderBlocks, 'dec');
    this.decoderHead = [
      dense(c.hiddenDim, c.hiddenDim, `${uid}/dec_out1`),
      dense(c.hiddenDim, c.outputDim, `${uid}/dec_out2`),
    ];
    // Size predictor n̂ = MLP(z) + averageSize (reference: 2 layers, width 32).
    this.sizePredictor =
      c.cardinality === 'latent'
        ? [dense(c.latentDim, 32, `${uid}/size1`), dense(32, 1, `${uid}/size2`)]
        : [];
  }

  /** Training-set size counts (index = size) for `config.sizeHistogram`. */
  static sizeHistogram(sets: readonly HostSet[]): number[] {
    if (!Array.isArray(sets) || sets.length === 0) throw new DataError('sets: expected at least one HostSet');
    const counts: number[] = [];
    sets.forEach((s, k) => {
      if (!Number.isInteger(s?.n) || s.n < 1)
        throw new DataError(`sets[${k}]: expected a HostSet with n ≥ 1`);
      while (counts.length <= s.n) counts.push(0);
      counts[s.n]++;
    });
    return counts;
  }

  /**
   * The runtime's plan (App. D.2): Adam, reduce-on-plateau (factor 0.5, `plateauPatience`,
   * floor `minLearningRate`) on each epoch's mean total loss, gradient-norm clipping, and
   * the penalty ramp when `penaltyRamp` asks for one.
   */
  trainingPlan(): TrainingPlan {
    const c = this.config;
    const [start, end] = c.penaltyRamp;
    const plateau = reduceOnPlateau(c.learningRate, {
      factor: 0.5,
      patience: c.plateauPatience,
      minLearningRate: c.minLearningRate,
    });
    // the ramp moves the total loss: the plateau counts only once the penalties are full
    const learningRate: LearningRateSchedule = (position) => plateau(position);
    learningRate.observe = (loss, position) => {
      if (position.epoch >= end) plateau.observe?.(loss, position);
    };
    learningRate.state = () => plateau.state?.() ?? {};
    learningRate.restore = (state) => plateau.restore?.(state);
    const ramp = ({ epoch }: { epoch: number }) =>
      end <= 0 ? 1 : Math.min(1, Math.max(0, (epoch - start) / Math.max(end - start, 1e-9)));
    return {
      learningRate,
      lossWeights: (position) => ({
        minDistance: ramp(position) * c.lossWeights.minDistance,
        valency: ramp(position) * c.lossWeights.valency,
      }),
      clipNorm: c.clipNorm,
      epochs: c.epochs,
    };
  }

  getConfig(): Record<string, unknown> {
    const c = this.config;
    return {
      ...c,
      sizeHistogram: c.sizeHistogram ? [...c.sizeHistogram] : null,
      lossWeights: { ...c.lossWeights },
      penaltyRamp: [...c.penaltyRamp],
    };
  }

  /** Every weight in a fixed order: encoder, creation, decoder, size predictor. */
  namedWeights(): readonly NamedVariable[] {
    const dense = (key: string, layers: ElementwiseDense[]) =>
      layers.flatMap((d, i) => d.namedWeights(`${key}${i}`));
    return [
      ...dense('encoder/input', this.encoderMlp),
      ...this.encoderBlocks.flatMap((b, i) => layerWeights(`encoder/block${i}`, b.weights)),
      ...dense('encoder/output', this.encoderHead),
      ...layerWeights(`creation/${this.config.creation}`, this.creation.weights),
      ...dense('decoder/input', [this.decoderInput]),
      ...layerWeights('decoder/film', this.latentFilm.weights),
      ...dense('decoder/dense', [this.decoderMlp]),
      ...this.decoderBlocks.flatMap((b, i) => layerWeights(`decoder/block${i}`, b.weights)),
      ...dense('decoder/output', this.decoderHead),
      ...dense('size', this.sizePredictor),
    ];
  }

  // ------------------------------------------------------------------ forward passes

  /** Checks a batch before any tensor work; returns its sizes. */
  private checkBatch(batch: TrainBatch | SetBatch, name: string): number[] {
    this.checkAlive();
    const x = batch?.x;
    if (!x || typeof x !== 'object' || !('rank' in x) || x.rank !== 3) {
      throw new ShapeError(`${name}.x: expected a Tensor3D [B, N, ${this.config.inputDim}]`);
    }
    if (x.shape[2] !== this.config.inputDim || x.shape[0] < 1 || x.shape[1] < 1) {
      throw new ShapeError(
        `${name}.x: expected [B ≥ 1, N ≥ 1, ${this.config.inputDim}] (positions first, then features), got ${formatShape(x.shape)}`,
      );
    }
    const mask = batch.mask;
    if (mask && (mask.rank !== 2 || mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1])) {
      throw new ShapeError(
        `${name}.mask: expected [${x.shape[0]}, ${x.shape[1]}], got ${formatShape(mask.shape)}`,
      );
    }
    const sizes = readSizes({ x, mask });
    sizes.forEach((n, b) => {
      if (n < 1) throw new DataError(`${name}: set ${b} is empty`);
      if (this.config.creation !== 'iid' && n > this.largestSize) {
        throw new ShapeError(
          `${name}: set ${b} has ${n} elements, above the largest set the ${this.config.creation} creation makes (${this.largestSize})`,
        );
      }
    });
    return sizes;
  }

  /** The largest set the creation module can make (i.i.d.: unbounded). */
  get largestSize(): number {
    const c = this.config;
    return c.creation === 'topn'
      ? c.referenceSize
      : c.creation === 'iid'
        ? Number.POSITIVE_INFINITY
        : c.maxSize;
  }

  /** Input with padded rows set to 0 (NaN in padding stays out), and its float mask `[B, N]`. */
  private clean(batch: TrainBatch | SetBatch, sizes: number[]): { x: Tensor3D; mask: Tensor2D } {
    const [b, n] = batch.x.shape;
    const m = new Float32Array(b * n);
    sizes.forEach((size, i) => {
      m.fill(1, i * n, i * n + size);
    });
    return tidy(() => {
      const mask = tensor2d(m, [b, n]);
      return { x: zeroPadding(batch.x, mask), mask };
    });
  }

  /** Encoder (App. D.2): `x [B, N, inputDim]`, `mask [B, N]` → μ, log σ² `[B, latentDim]`. */
  private encodeClean(x: Tensor3D, mask: Tensor2D): { mu: Tensor2D; logvar: Tensor2D } {
    return tidy(() => {
      const [in1, in2] = this.encoderMlp;
      // (no mask product here: the blocks select their elements themselves)
      let h = in2.apply(in1.apply(x, { relu: true }), { relu: true });
      for (const block of this.encoderBlocks) {
        h = block.apply(h, { mask }) as Tensor3D; // LN(h + MH), LN(· + FFN): residuals inside
      }
      const pooled = relu(setPooling(h, mask, 'pna')) as Tensor2D; // [sum, mean, max, std]
      const [out1, out2] = this.encoderHead;
      const stats = out2.apply(
        out1.apply(pooled as unknown as Tensor3D, { relu: true }),
      ) as unknown as Tensor2D;
      const d = this.config.latentDim;
      return { mu: slice(stats, [0, 0], [-1, d]), logvar: slice(stats, [0, d], [-1, d]) };
    });
  }

  /** Decoder: z `[B, l]` and sizes → positions `[B, N, outputDim]` (padded rows 0), N = `length`. */
  private decode(z: Tensor2D, sizes: number[], length: number, seed: number): SetBatch & { mask: Tensor2D } {
    return tidy(() => {
      const created = this.creation.create(z, sizes, { seed });
      // creation pads to its maxSize; the batch keeps its own length
      const x0 = slice(created.x, [0, 0, 0], [-1, length, -1]) as Tensor3D;
      const mask = slice(created.mask!, [0, 0], [-1, length]) as Tensor2D;
      const keep = expandDims(mask, 2);
      // Eq. 11: a linear layer on X0 (z enters through Eq. 10's FiLM rather than by concatenation)
      let h = this.decoderInput.apply(x0, { relu: true });
      h = this.latentFilm.apply([h, z], { mask: [mask, null] }) as Tensor3D; // Eq. 10
      h = this.decoderMlp.apply(h, { relu: true }); // padded rows: the blocks zero them
      for (const block of this.decoderBlocks) {
        h = block.apply(h, { mask }) as Tensor3D;
      }
      const [out1, out2] = this.decoderHead;
      const x = mul(out2.apply(out1.apply(h, { relu: true })), keep) as Tensor3D;
      return { x, mask };
    });
  }

  /** μ and log σ² of q(z | X) for a batch `x [B, N, inputDim]` (+ prefix mask). */
  encode(batch: SetBatch): { mu: Tensor2D; logvar: Tensor2D } {
    const sizes = this.checkBatch(batch, 'batch');
    const { x, mask } = this.clean(batch, sizes);
    try {
      return this.encodeClean(x, mask);
    } finally {
      x.dispose();
      mask.dispose();
    }
  }

  /** Decodes the batch's own latent (μ by default) at its own sizes → positions `[B, N, outputDim]` + mask. */
  reconstruct(batch: SetBatch, options: OneShotReconstructOptions = {}): SetBatch & { mask: Tensor2D } {
    const sizes = this.checkBatch(batch, 'batch');
    const random = new Random(options.seed ?? this.random.seed());
    const { x, mask } = this.clean(batch, sizes);
    try {
      const [out, outMask] = tidy(() => {
        const { mu, logvar } = this.encodeClean(x, mask);
        const z = options.useMean === false ? this.reparameterize(mu, logvar, random.seed()) : mu;
        const decoded = this.decode(z, sizes, batch.x.shape[1], random.seed());
        return [decoded.x, decoded.mask];
      });
      return { x: out as Tensor3D, mask: outMask as Tensor2D };
    } finally {
      x.dispose();
      mask.dispose();
    }
  }

  private reparameterize(mu: Tensor2D, logvar: Tensor2D, seed: number): Tensor2D {
    return tidy(() =>
      add(mu, mul(exp(mul(logvar, 0.5)), randomNormal(mu.shape, 0, 1, 'float32', seed))),
    ) as Tensor2D;
  }

  /** n̂ = MLP(z) + averageSize `[B]` (cardinality 'latent' only). */
  predictSizes(z: Tensor2D): Tensor {
    this.checkAlive();
    if (this.sizePredictor.length === 0) {
      throw new ConfigError("OneShotSetVAE: predictSizes needs cardinality: 'latent'");
    }
    return tidy(() => {
      const [s1, s2] = this.sizePredictor;
      const out = s2.apply(s1.apply(z as unknown as Tensor3D, { relu: true })) as unknown as Tensor2D;
      return add(reshape(out, [z.shape[0]]), this.config.averageSize);
    });
  }

  /**
   * Generates `count` sets: z ~ N(0, I); sizes from the training histogram or predicted from z
   * (`config.cardinality`), `+ extraSize` for extrapolation (clamped to [2, largest creatable]
   * when drawn, as the reference's `round_n`); decoded together as one padded batch (padding
   * changes nothing; the reference decodes one set at a time). → positions + prefix mask.
   */
  sample(count: number, options: OneShotSampleOptions = {}): SetBatch & { mask: Tensor2D } {
    this.checkAlive();
    if (!Number.isInteger(count) || count < 1) {
      throw new ConfigError(`count: expected a positive integer, got ${JSON.stringify(count)}`);
    }
    const extra = options.extraSize ?? 0;
    if (!Number.isInteger(extra) || extra < 0) {
      throw new ConfigError(`options.extraSize: expected an integer ≥ 0, got ${JSON.stringify(extra)}`);
    }
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new ConfigError(`options.seed: expected an integer, got ${options.seed}`);
    }
    if (options.sizes !== undefined) {
      if (!Array.isArray(options.sizes) || options.sizes.length !== count) {
        throw new ShapeError(`options.sizes: expected ${count} sizes, got ${JSON.stringify(options.sizes)}`);
      }
      options.sizes.forEach((n, b) => {
        if (!Number.isInteger(n) || n < 1 || n > this.largestSize) {
          throw new ShapeError(
            `options.sizes[${b}]: expected an integer in [1, ${this.largestSize}], got ${n}`,
          );
        }
      });
    } else if (this.config.cardinality === 'histogram' && !this.config.sizeHistogram) {
      throw new ConfigError(
        'OneShotSetVAE: sampling sizes from the histogram needs config.sizeHistogram (see OneShotSetVAE.sizeHistogram)',
      );
    }
    const random = new Random(options.seed ?? this.random.seed());
    const z = randomNormal([count, this.config.latentDim], 0, 1, 'float32', random.seed()) as Tensor2D;
    try {
      let sizes = options.sizes ? [...options.sizes] : this.drawSizes(z, random);
      if (!options.sizes || extra > 0) {
        const limit = Number.isFinite(this.largestSize) ? this.largestSize : this.config.maxSize + extra;
        sizes = sizes.map((n) => Math.min(Math.max(n + extra, 2), limit));
      }
      return this.decode(z, sizes, Math.max(...sizes), random.seed());
    } finally {
      z.dispose();
    }
  }

  private drawSizes(z: Tensor2D, random: Random): number[] {
    if (this.config.cardinality === 'latent') {
      const predicted = this.predictSizes(z);
      const values = Array.from(predicted.dataSync(), (v) => Math.round(v));
      predicted.dispose();
      return values;
    }
    const h = this.config.sizeHistogram!;
    const total = h.slice(1).reduce((a, b) => a + b, 0);
    return Array.from({ length: z.shape[0] }, () => {
      let u = random.next() * total;
      for (let n = 1; n < h.length; n++) {
        u -= h[n];
        if (u < 0) return n;
      }
      return h.reduce((m, c, n) => (c > 0 ? n : m), 1);
    });
  }

  // ------------------------------------------------------------------ loss (App. D.2)

  /**
   * reg2 (minimum distance) and reg3 (valency) of decoded positions `x [B, N, C]`, masked
   * (`mask > 0.5` is an element; `sizes` = the elements per set, a prefix of each row).
   * reg2 = Σ_{i≠j} relu(d0 − D_ij) (every pair twice, as the reference); reg3 = Σ_i relu(D_i,(1)
   * − d1) + Σ_i Σ_{k > maxValency} relu(d1 − D_i,(k)), D_i,(k) the k-th nearest other element.
   */
  penalties(x: Tensor3D, mask: Tensor2D, sizes: number[]): { minDistance: Scalar; valency: Scalar } {
    const c = this.config;
    const [b, n] = x.shape;
    return tidy(() => {
      const m = elementMask(mask); // 0/1: a mask of 0.7 selects, never scales
      const clean = zeroPadding(x, m); // padding (even NaN) stays out
      const squared = sum(square(sub(expandDims(clean, 2), expandDims(clean, 1))), 3) as Tensor3D; // [B,N,N]
      const ranks = neighbourRanks(squared.dataSync(), sizes, n, c.maxValency);
      // Euclidean; below 1e-12 the gradient is 0 (torch's cdist convention), never NaN
      const distance = sqrt(maximum(squared, 1e-12));
      const pairs = tensor3d(ranks.pairs, [b, n, n]);
      const minDistance = sum(mul(pairs, relu(sub(c.minDistance, distance)))) as Scalar;
      const nearest = tensor3d(ranks.nearest, [b, n, n]);
      const beyond = tensor3d(ranks.beyond, [b, n, n]);
      const d1 = c.neighbourDistance;
      const valency = add(
        sum(mul(nearest, relu(sub(distance, d1)))),
        sum(mul(beyond, relu(sub(d1, distance)))),
      ) as Scalar;
      return { minDistance, valency };
    });
  }

  /** Loss terms of one batch: W reconstruction, KL, the two penalties (and the size L1). */
  loss(batch: TrainBatch, options: LossOptions = {}): LossTerms {
    const sizes = this.checkBatch(batch, 'batch');
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new ConfigError(`options.seed: expected an integer, got ${options.seed}`);
    }
    const weights = { ...this.config.lossWeights };
    for (const [k, v] of Object.entries(options.weights ?? {})) {
      if (!(k in weights)) {
        throw new ConfigError(
          `options.weights.${k}: unknown term (expected ${Object.keys(weights).join(', ')})`,
        );
      }
      if (!(typeof v === 'number' && Number.isFinite(v))) {
        throw new ConfigError(`options.weights.${k}: expected a finite number, got ${v}`);
      }
      weights[k as keyof OneShotLossWeights] = v;
    }
    const random = new Random(options.seed ?? this.random.seed());
    const { x, mask } = this.clean(batch, sizes);
    try {
      return tidy(() => {
        const c = this.config;
        const { mu, logvar } = this.encodeClean(x, mask);
        const z = this.reparameterize(mu, logvar, random.seed());
        const out = this.decode(z, sizes, x.shape[1], random.seed());
        const target = slice(x, [0, 0, 0], [-1, -1, c.outputDim]) as Tensor3D;
        // W loss: exact assignment, Euclidean cost, mean over each set's pairs, summed over the batch
        const recon = hungarianLoss(
          { x: out.x, mask },
          { x: target, mask },
          { pairCost: 'euclidean', pointReduction: 'mean', reduction: 'sum' },
        ) as Scalar;
        // KL(q(z|X) ‖ N(0, I)) summed over the batch and the latent dimensions
        const kl = mul(-0.5, sum(sub(add(1, logvar), add(square(mu), exp(logvar))))) as Scalar;
        const { minDistance, valency } = this.penalties(out.x, mask, sizes);
        const terms: Record<string, Scalar> = { recon, kl, minDistance, valency };
        let total = add(
          add(recon, mul(weights.kl, kl)),
          add(mul(weights.minDistance, minDistance), mul(weights.valency, valency)),
        );
        if (this.sizePredictor.length > 0) {
          const size = sum(abs(sub(this.predictSizes(z), tensor1d(sizes)))) as Scalar;
          terms.size = size;
          total = add(total, mul(weights.size, size));
        }
        return { total: total as Scalar, ...terms } as LossTerms;
      });
    } finally {
      x.dispose();
      mask.dispose();
    }
  }

  /** Frees every weight (the runtime frees the optimizer state). */
  protected disposeWeights(): void {
    for (const d of [
      ...this.encoderMlp,
      ...this.encoderHead,
      this.decoderInput,
      this.decoderMlp,
      ...this.decoderHead,
      ...this.sizePredictor,
    ]) {
      d.dispose();
    }
    const layers = [...this.encoderBlocks, this.creation, this.latentFilm, ...this.decoderBlocks];
    for (const w of new Set(layers.flatMap((layer) => layer.weights))) w.dispose();
  }
}

registerModel(OneShotSetVAE);
