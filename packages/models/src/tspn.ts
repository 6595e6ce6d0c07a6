// Transformer Set Prediction Network (Kosiorek, Kim & Rezende 2020, "Conditional Set
// Generation with Transformers"), as ported by LukeBolly/tf-tspn (REFERENCES.md §6):
//   z  = MLP(FSPool(MLP(x)))                          set encoder (FSEncoder 'tspn' + head)
//   X⁰ = creation(z, n)                               initial set of n elements (§3; Top-n §2.1)
//   Y  = W_out · Transformer(W_in · [X⁰, z])          every element sees z; self-attention
//   L  = Chamfer_huber(Y, x) + CE(size head(sg(z)), n − 1)
// The size predictor learns n from the encoding without changing it (stop-gradient), as the
// reference trains it on the frozen encoder. Prediction uses the given or the predicted n.

import { FSEncoder, isab, type SetCreationLayer, sab } from '@setgen/layers';
import { ConfigError, chamferDistance, Random, ShapeError } from '@setgen/ops';
import {
  add,
  argMax,
  clone,
  concat,
  customGrad,
  expandDims,
  fill,
  leakyRelu,
  logSoftmax,
  matMul,
  mean,
  mul,
  neg,
  oneHot,
  relu,
  type Scalar,
  slice,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor1d,
  tensor3d,
  tidy,
  tile,
  zeros,
  zerosLike,
} from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';
import { buildCreation } from './creation.js';
import { ElementwiseDense } from './dense.js';
import { registerModel } from './runtime/registry.js';
import type { LossOptions, LossTerms, NamedVariable, TrainBatch, TrainingPlan } from './runtime/set-model.js';
import { layerWeights } from './runtime/set-model.js';
import { TrainableSetModel } from './runtime/trainable-set-model.js';
import { checkLatent, checkSetInput } from './set-input.js';
import { type ResolvedTSPNConfig, resolveTSPNConfig, type TSPNConfig, tspnPresets } from './tspn-config.js';

let instances = 0;

/** sg(x): x forward, zero gradient (tfjs-core has no stop-gradient op). */
const stopGradient = customGrad((...inputs) => ({
  value: clone(inputs[0] as Tensor),
  gradFunc: (dy: Tensor | Tensor[]) => zerosLike(dy as Tensor),
}));

/** Leaky-ReLU slope of the reference's encoder head (`tf.nn.leaky_relu`). */
const LEAKY_SLOPE = 0.2;

/** Options of `TSPN.predict`. */
export interface TSPNPredictOptions {
  /** Set sizes (default: the size predictor's argmax + 1). */
  sizes?: number[];
  /** Seed of the i.i.d. creation draws. */
  seed?: number;
}

/** A predicted batch: `x [B, n_max, C]`, prefix `mask [B, n_max]`. */
export interface TSPNPrediction {
  x: Tensor3D;
  mask: Tensor2D;
}

/** `x [B, in]` through an ElementwiseDense as a one-element set. */
function denseRows(layer: ElementwiseDense, x: Tensor2D): Tensor2D {
  return add(matMul(x, layer.kernel), layer.bias) as Tensor2D;
}

export class TSPN extends TrainableSetModel {
  static readonly className = 'TSPN';
  /** Fills in a configuration's defaults and checks it. */
  static readonly resolveConfig = resolveTSPNConfig;
  static readonly presets = tspnPresets;
  readonly config: ResolvedTSPNConfig;
  readonly encoder: FSEncoder;
  readonly creation: SetCreationLayer;
  /** The encoder's head (Dense → leaky ReLU → Dense), then the transformer's input/output maps. */
  private readonly head: [ElementwiseDense, ElementwiseDense];
  private readonly embed: ElementwiseDense;
  private readonly blocks: layers.Layer[];
  private readonly output: ElementwiseDense;
  private readonly sizeHead: [ElementwiseDense, ElementwiseDense];

  constructor(config: TSPNConfig) {
    super();
    this.config = resolveTSPNConfig(config);
    const c = this.config;
    const id = `tspn${++instances}`;
    const random = new Random(c.seed);
    this.encoder = new FSEncoder({
      hiddenUnits: c.encoderHiddenUnits,
      outputDim: c.latentDim,
      numPieces: c.numPieces,
      variant: 'tspn',
      seed: c.seed,
      name: 'encoder',
    });
    tidy(() => {
      this.encoder.encode(tensor3d(new Float32Array(c.setDim), [1, 1, c.setDim]));
    });
    this.head = [
      new ElementwiseDense(c.latentDim, c.latentDim, random, `${id}/head1`),
      new ElementwiseDense(c.latentDim, c.latentDim, random, `${id}/head2`),
    ];
    this.creation = buildCreation({
      kind: c.creation,
      featureDim: c.initialSetDim,
      maxSize: c.maxSize,
      latentDim: c.latentDim,
      referenceSize: c.referenceSize,
      angleDim: c.angleDim,
      hiddenUnits: c.creationHiddenUnits,
      uniformInit: null,
      seed: c.seed + 1,
    });
    this.embed = new ElementwiseDense(c.initialSetDim + c.latentDim, c.modelDim, random, `${id}/embed`);
    this.embed.bias.assign(fill([c.modelDim], 0.1)); // Conv1D bias init 0.1 (reference)
    this.blocks = Array.from({ length: c.numBlocks }, (_, i) =>
      c.block === 'sab'
        ? sab({ units: c.modelDim, numHeads: c.numHeads, variant: 'setvae', seed: c.seed + 10 * (i + 1) })
        : isab({
            units: c.modelDim,
            numHeads: c.numHeads,
            numInducingPoints: c.numInducingPoints,
            variant: 'setvae',
            seed: c.seed + 10 * (i + 1),
          }),
    );
    tidy(() => {
      const probe = zeros([1, 1, c.modelDim]);
      for (const block of this.blocks) block.apply(probe);
    });
    // the output starts at the canvas centre: kernel 0, bias 0.5 (reference)
    this.output = new ElementwiseDense(c.modelDim, c.setDim, random, `${id}/output`);
    this.output.kernel.assign(zeros([c.modelDim, c.setDim]));
    this.output.bias.assign(fill([c.setDim], 0.5));
    this.sizeHead = [
      new ElementwiseDense(c.latentDim, c.sizeHiddenUnits, random, `${id}/size1`),
      new ElementwiseDense(c.sizeHiddenUnits, c.maxSize, random, `${id}/size2`),
    ];
  }

  getConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  /** Adam at the config's constant learning rate for `epochs` (the reference scripts). */
  trainingPlan(): TrainingPlan {
    return { learningRate: this.config.learningRate, epochs: this.config.epochs };
  }

  /**
   * encoder (FSEncoder order), head1/2, creation, embed, blocks (MAB order each), output,
   * size1/2 — kernels `[in, out]`.
   */
  namedWeights(): NamedVariable[] {
    return [
      ...layerWeights('encoder', this.encoder.weights),
      ...this.head.flatMap((d, i) => d.namedWeights(`head${i + 1}`)),
      ...layerWeights('creation', this.creation.weights),
      ...this.embed.namedWeights('embed'),
      ...this.blocks.flatMap((b, i) => layerWeights(`block${i + 1}`, b.weights)),
      ...this.output.namedWeights('output'),
      ...this.sizeHead.flatMap((d, i) => d.namedWeights(`size${i + 1}`)),
    ];
  }

  private checkSet(x: Tensor3D, mask: Tensor2D | null | undefined, name: string): number[] {
    const { setDim, maxSize } = this.config;
    const valid = checkSetInput(x, mask, setDim, name);
    const [b, n] = x.shape;
    const sizes = Array.from({ length: b }, (_, s) => {
      if (!valid) return n;
      let count = 0;
      for (let i = 0; i < n; i++) if (valid[s * n + i] > 0) count++;
      return count;
    });
    sizes.forEach((size, s) => {
      if (size < 1 || size > maxSize) {
        throw new ShapeError(`${name}[${s}]: expected 1..maxSize = ${maxSize} elements, got ${size}`);
      }
    });
    return sizes;
  }

  private encodeChecked(x: Tensor3D, mask: Tensor2D | null | undefined): Tensor2D {
    return tidy(() => {
      const pooled = this.encoder.encode(x, mask);
      return denseRows(this.head[1], leakyRelu(denseRows(this.head[0], pooled), LEAKY_SLOPE));
    });
  }

  /** z `[B, latentDim]` of a set batch (padding never changes it). */
  encode(x: Tensor3D, mask?: Tensor2D | null): Tensor2D {
    this.checkSet(x, mask, 'x');
    return this.encodeChecked(x, mask);
  }

  /** Size logits `[B, maxSize]` (class k = size k + 1). */
  private sizeLogits(z: Tensor2D): Tensor2D {
    return denseRows(this.sizeHead[1], relu(denseRows(this.sizeHead[0], z)));
  }

  /** The decoder: X⁰ = creation(z, sizes), then the transformer, trimmed to the largest size. */
  private decode(z: Tensor2D, sizes: number[], seed: number | undefined): TSPNPrediction {
    return tidy(() => {
      const length = Math.max(...sizes);
      const created = this.creation.create(z, sizes, { seed });
      const x0 = slice(created.x, [0, 0, 0], [-1, length, -1]);
      const mask = slice(created.mask!, [0, 0], [-1, length]) as Tensor2D;
      const conditioned = concat([x0, tile(expandDims(z, 1), [1, length, 1])], 2) as Tensor3D;
      let h = this.embed.apply(conditioned);
      for (const block of this.blocks) h = block.apply(h, { mask }) as Tensor3D;
      return { x: this.output.apply(h), mask };
    });
  }

  /** Decode z with the given sizes, or the predicted ones. */
  predict(z: Tensor2D, options: TSPNPredictOptions = {}): TSPNPrediction {
    checkLatent(z, this.config.latentDim, 'z');
    const sizes = options.sizes ?? this.predictSizes(z);
    if (!Array.isArray(sizes) || sizes.length !== z.shape[0]) {
      throw new ShapeError(`options.sizes: expected ${z.shape[0]} sizes, got ${JSON.stringify(sizes)}`);
    }
    sizes.forEach((n, s) => {
      if (!Number.isInteger(n) || n < 1 || n > this.config.maxSize) {
        throw new ConfigError(
          `options.sizes[${s}]: expected an integer in 1..${this.config.maxSize}, got ${n}`,
        );
      }
    });
    return this.decode(z, sizes, options.seed);
  }

  /** argmax + 1 of the size predictor. */
  predictSizes(z: Tensor2D): number[] {
    checkLatent(z, this.config.latentDim, 'z');
    const best = tidy(() => argMax(this.sizeLogits(z), 1));
    const sizes = Array.from(best.dataSync(), (k) => k + 1);
    best.dispose();
    return sizes;
  }

  /** Autoencode with the input's own sizes (or `options.sizes`). */
  reconstruct(x: Tensor3D, mask?: Tensor2D | null, options: TSPNPredictOptions = {}): TSPNPrediction {
    const sizes = this.checkSet(x, mask, 'x');
    const z = this.encodeChecked(x, mask);
    try {
      return this.predict(z, { sizes, ...options });
    } finally {
      z.dispose();
    }
  }

  /** `{ total, chamfer, size }`: Chamfer (huber pair cost, means) + size cross-entropy. */
  loss(batch: TrainBatch, options: LossOptions = {}): LossTerms {
    if (!batch || typeof batch !== 'object') throw new ShapeError('batch: expected a TrainBatch');
    const sizes = this.checkSet(batch.x, batch.mask, 'batch.x');
    return tidy(() => {
      const z = this.encodeChecked(batch.x, batch.mask);
      const out = this.decode(z, sizes, options.seed);
      const target = batch.mask ? { x: batch.x, mask: batch.mask } : batch.x;
      const chamfer = chamferDistance(out, target, { pairCost: 'huber' }) as Scalar;
      const labels = oneHot(
        tensor1d(
          sizes.map((n) => n - 1),
          'int32',
        ),
        this.config.maxSize,
      );
      const logp = logSoftmax(this.sizeLogits(stopGradient(z) as Tensor2D));
      const size = neg(mean(sum(mul(labels, logp), 1))) as Scalar;
      const weight = options.weights?.size ?? 1;
      return { total: add(chamfer, mul(size, weight)) as Scalar, chamfer, size };
    });
  }

  protected disposeWeights(): void {
    this.encoder.dispose();
    this.creation.dispose();
    for (const block of this.blocks) block.dispose();
    for (const d of [...this.head, this.embed, this.output, ...this.sizeHead]) d.dispose();
  }
}

registerModel(TSPN);
