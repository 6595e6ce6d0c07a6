// Deep Set Prediction Networks (Zhang, Hare & Prügel-Bennett, NeurIPS 2019; REFERENCES.md §4).
// A set is decoded from a vector z by gradient descent on the set itself: with the set
// encoder g,
//   L_repr(Ŷ, m̂) = smooth-L1(g(Ŷ, m̂), z)                                   (Eq. 3)
//   Ŷ⁽ᵗ⁺¹⁾ = Ŷ⁽ᵗ⁾ − η ∂L_repr/∂Ŷ,  m̂⁽ᵗ⁺¹⁾ = clamp(m̂⁽ᵗ⁾ − η ∂L_repr/∂m̂, 0, 1)     (Eq. 4, §3.2)
// for T steps, and the outer loss is a set loss against the target (Eq. 5): Chamfer averaged
// over every Ŷ⁽⁰…ᵀ⁾ or Hungarian on Ŷ⁽ᵀ⁾, with the mask as an extra feature so that all N
// slots are matched (§3.2, "--mask-feature"). Training differentiates through the unrolled
// loop (second order); prediction runs it without a tape and may take more steps (§4.2).
// Ŷ⁰ comes from any creation layer (Top-n paper §5.1): 'first-n' is DSPN's learned set.

import { FSEncoder, type SetCreationLayer } from '@setgen/layers';
import { ConfigError, chamferDistance, DataError, hungarianLoss, ShapeError } from '@setgen/ops';
import { pairCostRows } from '@setgen/ops/internal';
import {
  add,
  addN,
  clipByValue,
  concat,
  div,
  expandDims,
  fill,
  grads,
  mean,
  mul,
  neg,
  relu,
  reshape,
  type Scalar,
  slice,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor2d,
  tensor3d,
  tidy,
  tile,
  type Variable,
  variable,
} from '@tensorflow/tfjs-core';
import { buildCreation } from './creation.js';
import { DSPNBaselineDecoder } from './dspn-baselines.js';
import { type DSPNConfig, dspnPresets, type ResolvedDSPNConfig, resolveDSPNConfig } from './dspn-config.js';
import { recomputed } from './runtime/recompute.js';
import { registerModel } from './runtime/registry.js';
import type { LossOptions, LossTerms, NamedVariable, TrainBatch, TrainingPlan } from './runtime/set-model.js';
import { layerWeights } from './runtime/set-model.js';
import { TrainableSetModel } from './runtime/trainable-set-model.js';
import { checkLatent, checkSetInput } from './set-input.js';

/** Ŷ⁽⁰⁾ … Ŷ⁽ᵀ⁾ and m̂⁽⁰⁾ … m̂⁽ᵀ⁾ (the baselines return one of each). */
export interface DSPNPrediction {
  /** `[B, N, C]` per step, the start first. */
  sets: Tensor3D[];
  /** `[B, N]` per step, in [0, 1] for the inner loop (raw for the MLP/LSTM baselines). */
  masks: Tensor2D[];
}

/** Options of `DSPN.predict`. */
export interface PredictOptions {
  /** Inner steps (default: the training `iterations`; DSPN Table 2 evaluates 10/20/30). */
  iterations?: number;
  /** Seed of the i.i.d. creation draws. */
  seed?: number;
}

/** A batch padded (or compacted) to the model's N: valid elements first, zeros after. */
interface FixedSets {
  x: Tensor3D;
  mask: Tensor2D;
}

/** smooth-L1 (Huber, β = 1), ONE mean over batch × features (`F.smooth_l1_loss`, reduction mean). */
function smoothL1(a: Tensor2D, b: Tensor2D): Scalar {
  return mean(pairCostRows(a, b, 'huber')) as Scalar;
}

/**
 * L_repr of the inner loop (Eq. 3): 'batch-mean' is the reference's ONE mean over the B × latent
 * entries, so each set's step shrinks as 1/B; 'fixed-batch' divides the sum of the per-set means
 * by the training `batchSize` instead: the same at B = batchSize, and at any other B each set
 * takes the step it takes in training.
 */
function innerReprLoss(
  encoded: Tensor2D,
  z: Tensor2D,
  reduction: ResolvedDSPNConfig['innerLossReduction'],
  batchSize: number,
): Scalar {
  if (reduction === 'batch-mean') return smoothL1(encoded, z);
  return div(sum(pairCostRows(encoded, z, 'huber')), batchSize) as Scalar;
}

/**
 * ∂L_repr/∂g of `innerReprLoss` written out: Huber₁'(g − z) = clamp(g − z, −1, 1), over the
 * latent mean and the batch divisor (B for 'batch-mean', `batchSize` for 'fixed-batch').
 */
function innerReprLossGradient(encoded: Tensor2D, z: Tensor2D, divisor: number): Tensor2D {
  return div(clipByValue(sub(encoded, z), -1, 1), divisor * encoded.shape[1]) as Tensor2D;
}

/**
 * clamp(x, 0, 1) = x − relu(x − 1) + relu(−x), gradient 1 on [0, 1] (bounds included, as
 * torch.clamp). tfjs's clipByValue has a gradient that cannot itself be differentiated.
 */
function clampUnit<T extends Tensor>(x: T): T {
  return add(sub(x, relu(sub(x, 1))), relu(neg(x))) as T;
}

/** `[B, N, C]` and `[B, N]` → `[B, N, C + 1]`: the mask as the last feature. */
function withMaskFeature(x: Tensor3D, mask: Tensor2D): Tensor3D {
  return concat([x, expandDims(mask, 2)], 2) as Tensor3D;
}

/** Numbers the instances, so their variables get unique non-numeric names (tfjs keys
 * optimizer state by name, and numeric names would reorder it). */
let instances = 0;

export class DSPN extends TrainableSetModel {
  static readonly className = 'DSPN';
  /** Fills in a configuration's defaults and checks it. */
  static readonly resolveConfig = resolveDSPNConfig;
  static readonly presets = dspnPresets;
  readonly config: ResolvedDSPNConfig;
  /** g: encodes targets (autoencoder) and every Ŷ⁽ᵗ⁾ of the inner loop (shared weights). */
  readonly encoder: FSEncoder;
  /** The creation layer of Ŷ⁰ (inner-loop decoder), else null. */
  readonly creation: SetCreationLayer | null;
  /** m̂⁰ `[N]`, initialised to 0.5 (inner-loop decoder), else null. */
  readonly startingMask: Variable | null;
  /** DSPN Table 1's MLP / LSTM decoders, else null. */
  readonly baseline: DSPNBaselineDecoder | null;

  constructor(config: DSPNConfig) {
    super();
    this.config = resolveDSPNConfig(config);
    const c = this.config;
    this.encoder = new FSEncoder({
      hiddenUnits: c.hiddenUnits,
      outputDim: c.latentDim,
      numPieces: c.numPieces,
      relational: c.relational,
      variant: 'dspn',
      seed: c.seed,
      name: 'encoder',
    });
    tidy(() => {
      this.encoder.encode(tensor3d(new Float32Array(c.setDim), [1, 1, c.setDim]));
    });
    if (c.decoder === 'inner-loop') {
      this.creation = buildCreation({
        kind: c.creation,
        featureDim: c.setDim,
        maxSize: c.maxSize,
        latentDim: c.latentDim,
        referenceSize: c.referenceSize,
        angleDim: c.angleDim,
        hiddenUnits: c.hiddenUnits,
        uniformInit: [0, 1], // DSPN's starting set: torch.rand
        seed: c.seed + 1,
      });
      this.startingMask = tidy(() =>
        variable(fill([c.maxSize], 0.5), true, `dspn${++instances}/startingMask`),
      );
      this.baseline = null;
    } else {
      this.creation = null;
      this.startingMask = null;
      this.baseline = new DSPNBaselineDecoder(
        c.decoder,
        c.latentDim,
        c.hiddenUnits,
        c.setDim,
        c.maxSize,
        c.seed + 2,
      );
    }
  }

  getConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  /** Adam at the config's constant learning rate for `epochs` (the reference scripts). */
  trainingPlan(): TrainingPlan {
    return { learningRate: this.config.learningRate, epochs: this.config.epochs };
  }

  /** Encoder weights (FSEncoder order), then the creation layer's, m̂⁰; or the baseline's. */
  namedWeights(): NamedVariable[] {
    const named = layerWeights('encoder', this.encoder.weights);
    if (this.creation) named.push(...layerWeights('creation', this.creation.weights));
    if (this.startingMask) named.push({ name: 'startingMask', variable: this.startingMask });
    if (this.baseline) named.push(...this.baseline.namedWeights());
    return named;
  }

  /**
   * A set batch as N fixed slots: valid elements first (in their order), zeros after; padding
   * values (even NaN) are never read. More than N valid elements is a `DataError`.
   */
  fixedSets(x: Tensor3D, mask?: Tensor2D | null, name = 'x'): FixedSets {
    const { setDim, maxSize } = this.config;
    const valid = checkSetInput(x, mask, setDim, name);
    const [b, n] = x.shape;
    const values = x.dataSync();
    const out = new Float32Array(b * maxSize * setDim);
    const outMask = new Float32Array(b * maxSize);
    for (let s = 0; s < b; s++) {
      let count = 0;
      for (let i = 0; i < n; i++) {
        if (valid && !(valid[s * n + i] > 0)) continue;
        if (count === maxSize) {
          throw new DataError(`${name}[${s}]: more than maxSize = ${maxSize} valid elements`);
        }
        for (let c = 0; c < setDim; c++) {
          const v = values[(s * n + i) * setDim + c];
          if (!Number.isFinite(v))
            throw new DataError(`${name}[${s}, ${i}, ${c}]: non-finite value ${v} in an element`);
          out[(s * maxSize + count) * setDim + c] = v;
        }
        outMask[s * maxSize + count] = 1;
        count++;
      }
    }
    return { x: tensor3d(out, [b, maxSize, setDim]), mask: tensor2d(outMask, [b, maxSize]) };
  }

  /** z = g(Y) `[B, latentDim]` of a set batch (padding never changes it). */
  encode(x: Tensor3D, mask?: Tensor2D | null): Tensor2D {
    const target = this.fixedSets(x, mask);
    return tidy(() => this.encoder.encode(target.x, target.mask));
  }

  /** Ŷ⁰ `[B, N, C]` and m̂⁰ = clamp(startingMask, 0, 1) `[B, N]` for z. */
  private start(z: Tensor2D, seed: number | undefined): FixedSets {
    const { maxSize } = this.config;
    const b = z.shape[0];
    const created = this.creation!.create(z, new Array<number>(b).fill(maxSize), { seed });
    created.mask?.dispose();
    const mask = clampUnit(tile(expandDims(this.startingMask!, 0), [b, 1]) as Tensor2D);
    return { x: created.x, mask };
  }

  /**
   * The inner optimisation (Eq. 4) from Ŷ⁰, m̂⁰ for `iterations` steps. Inside a tape (training)
   * every step stays differentiable w.r.t. the weights and z (second order); outside, nothing
   * is recorded. Returns every intermediate set and mask.
   */
  private innerLoop(z: Tensor2D, start: FixedSets, iterations: number): DSPNPrediction {
    const sets = [start.x];
    const masks = [start.mask];
    let [y, m] = [start.x, start.mask];
    for (let t = 0; t < iterations; t++) {
      [y, m] = tidy(() =>
        this.config.recomputeInnerSteps ? this.recomputedInnerStep(y, m, z) : this.innerStep(y, m, z),
      );
      sets.push(y);
      masks.push(m);
    }
    return { sets, masks };
  }

  /** One step of Eq. 4: (Ŷ, m̂) − η ∇ L_repr(g(Ŷ, m̂), z), the mask clamped to [0, 1]. */
  private innerStep(y: Tensor3D, m: Tensor2D, z: Tensor2D): [Tensor3D, Tensor2D] {
    const eta = this.config.innerLearningRate;
    const [dy, dm] = this.reprGradient(y, m, z);
    return [sub(y, mul(dy, eta)) as Tensor3D, clampUnit(sub(m, mul(dm, eta)) as Tensor2D)];
  }

  /** ∇_{Ŷ, m̂} L_repr(g(Ŷ, m̂), z) (Eq. 3), written out or by a nested `grads` (`innerGradient`). */
  private reprGradient(y: Tensor3D, m: Tensor2D, z: Tensor2D): [Tensor3D, Tensor2D] {
    const { innerLossReduction, batchSize, innerGradient } = this.config;
    if (innerGradient === 'explicit') {
      const divisor = innerLossReduction === 'batch-mean' ? z.shape[0] : batchSize;
      const { encoded, dx, dmask } = this.encoder.encodeWithInputGradient(y, m, (g) =>
        innerReprLossGradient(g, z, divisor),
      );
      encoded.dispose();
      return [dx, dmask];
    }
    const reprLoss = (ys: Tensor, ms: Tensor) =>
      innerReprLoss(this.encoder.encode(ys as Tensor3D, ms as Tensor2D), z, innerLossReduction, batchSize);
    const [dy, dm] = grads(reprLoss)([y, m]);
    return [dy as Tensor3D, dm as Tensor2D];
  }

  /**
   * The same step with recomputation: the tape keeps the step's input (Ŷ, m̂ packed, z)
   * instead of the encoder's intermediates (forward and backward of g, ~20 tensors of
   * [B, N, hidden]); the backward pass runs the step again, second order included.
   */
  private recomputedInnerStep(y: Tensor3D, m: Tensor2D, z: Tensor2D): [Tensor3D, Tensor2D] {
    const [b, n, c] = y.shape;
    const unpack = (state: Tensor): [Tensor3D, Tensor2D] => [
      slice(state, [0, 0, 0], [b, n, c]) as Tensor3D,
      reshape(slice(state, [0, 0, c], [b, n, 1]), [b, n]) as Tensor2D,
    ];
    const packed = recomputed(
      (state: Tensor, latent: Tensor) =>
        withMaskFeature(...this.innerStep(...unpack(state), latent as Tensor2D)),
      [withMaskFeature(y, m), z],
      this.encoder.weights.map((w) => w.read()),
    );
    return unpack(packed);
  }

  /** The decoder on z: the inner loop, or a baseline's single set. */
  private decode(z: Tensor2D, iterations: number, seed: number | undefined): DSPNPrediction {
    if (this.baseline) {
      const { x, mask } = this.baseline.decode(z);
      return { sets: [x], masks: [mask] };
    }
    return this.innerLoop(z, this.start(z, seed), iterations);
  }

  /**
   * Decode z `[B, latentDim]` without a tape. Every Ŷ⁽ᵗ⁾ and m̂⁽ᵗ⁾ is returned (dispose them);
   * the prediction is the last. The i.i.d. creation draws from `seed`.
   */
  predict(z: Tensor2D, options: PredictOptions = {}): DSPNPrediction {
    checkLatent(z, this.config.latentDim, 'z');
    const iterations = options.iterations ?? this.config.iterations;
    if (!Number.isInteger(iterations) || iterations < 0) {
      throw new ConfigError(
        `options.iterations: expected a non-negative integer, got ${JSON.stringify(iterations)}`,
      );
    }
    return tidy(() => {
      const out = this.decode(z, iterations, options.seed);
      return { sets: out.sets, masks: out.masks };
    });
  }

  /** Autoencode a set batch: predict(g(x)). */
  reconstruct(x: Tensor3D, mask?: Tensor2D | null, options: PredictOptions = {}): DSPNPrediction {
    const z = this.encode(x, mask);
    try {
      return this.predict(z, options);
    } finally {
      z.dispose();
    }
  }

  /**
   * The set loss of predictions against fixed-slot targets, mask as a feature: Chamfer
   * (smooth-L1 pair cost averaged over the C + 1 features, mean over points, mean over the
   * batch) averaged over every step, or Hungarian on the last step (§4.4).
   */
  private setLoss(
    prediction: DSPNPrediction,
    target: FixedSets,
  ): { name: string; value: Scalar; final: Scalar } {
    const truth = withMaskFeature(target.x, target.mask);
    const steps = prediction.sets.map((x, t) => withMaskFeature(x, prediction.masks[t]));
    if (this.config.loss === 'hungarian') {
      const value = hungarianLoss(steps[steps.length - 1], truth, { pairCost: 'huber' }) as Scalar;
      return { name: 'hungarian', value, final: value };
    }
    const perStep = steps.map((s) => chamferDistance(s, truth, { pairCost: 'huber' }) as Scalar);
    const value = div(addN(perStep), perStep.length) as Scalar;
    return { name: 'chamfer', value, final: perStep[perStep.length - 1] };
  }

  /**
   * `{ total, chamfer | hungarian, final, [repr] }`: `final` is the set loss of the last set
   * alone (what a prediction scores); `repr` (supervised) is smooth-L1(g(Y), z) (§4.4).
   */
  loss(batch: TrainBatch, options: LossOptions = {}): LossTerms {
    const c = this.config;
    if (!batch || typeof batch !== 'object') throw new ShapeError('batch: expected a TrainBatch');
    const supervised = c.mode === 'supervised';
    const source = supervised ? batch.target : batch.x;
    if (supervised && !batch.target) throw new ShapeError('batch.target: required in supervised mode');
    if (supervised) checkLatent(batch.condition as Tensor2D, c.latentDim, 'batch.condition');
    const target = this.fixedSets(
      source as Tensor3D,
      supervised ? batch.targetMask : batch.mask,
      supervised ? 'batch.target' : 'batch.x',
    );
    try {
      return tidy(() => {
        const encoded = this.encoder.encode(target.x, target.mask);
        const z = supervised ? (batch.condition as Tensor2D) : encoded;
        const prediction = this.decode(z, c.iterations, options.seed);
        const set = this.setLoss(prediction, target);
        const terms: LossTerms = { total: set.value, [set.name]: set.value, final: set.final };
        if (supervised) {
          const weight = options.weights?.repr ?? c.reprWeight;
          const repr = smoothL1(encoded, z);
          terms.repr = repr;
          terms.total = add(set.value, mul(repr, weight)) as Scalar;
        }
        return terms;
      });
    } finally {
      target.x.dispose();
      target.mask.dispose();
    }
  }

  protected disposeWeights(): void {
    this.encoder.dispose();
    this.creation?.dispose();
    this.startingMask?.dispose();
    this.baseline?.dispose();
  }
}

registerModel(DSPN);
