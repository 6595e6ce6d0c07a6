// SetVAE's initial-set prior (Eq. 21, REFERENCES.md §2.5): a mixture of K diagonal Gaussians in
// R^D with learnable mixture logits, means and log standard deviations. Each element of a set
// is drawn i.i.d.: a component c ~ Categorical(softmax(logits)), then x = μ_c + σ_c ⊙ ε.

import { ConfigError, formatShape, Random, ShapeError } from '@setgen/ops';
import { checkPositiveInteger, is } from '@setgen/ops/internal';
import {
  add,
  argMax,
  cast,
  customGrad,
  dispose,
  div,
  exp,
  expandDims,
  logSoftmax,
  logSumExp,
  matMul,
  mul,
  oneHot,
  onesLike,
  reshape,
  serialization,
  softmax,
  square,
  sub,
  sum,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  tensor2d,
  tidy,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable, layers } from '@tensorflow/tfjs-layers';
import { buildEagerly } from './eager-build.js';
import { checkLayerArgs, type Shape } from './layer-utils.js';
import { sphereLattice } from './sphere-lattice.js';

/** Options of `MixtureOfGaussiansPrior`. */
export interface MixtureOfGaussiansPriorArgs {
  /** Number of mixture components K. */
  numComponents: number;
  /** Dimension D of each point. */
  dim: number;
  /**
   * Temperature τ of the straight-through Gumbel-softmax that picks components (SetVAE's
   * `gumbel_softmax(logits, τ=1, hard=True)`); default 1. The forward pass is a hard one-hot.
   */
  temperature?: number;
  /**
   * How the mixture starts (logits = 1 either way): `'random'` (default; SetVAE without
   * `fixed_gmm`): means ~ N(0, 1), σ = |N(0, 1)|/sqrt(K). `'sphere-lattice'` (SetVAE's
   * `fixed_gmm`): means on a Fibonacci lattice of the unit sphere, σ = sqrt(D)·d_min/10 + 1e-3
   * for every component and dim, d_min the closest pair of means (the sqrt(D) is SetVAE's:
   * its pairwise distance tiles the coordinates D times). Needs K ≥ 2 and D ≥ 2.
   */
  initialization?: 'random' | 'sphere-lattice';
  /** Seed of the initialisers and of the sampling stream (default: random). */
  seed?: number;
  /** `false` freezes the mixture (SetVAE's `train_gmm=False` buffers); default true. */
  trainable?: boolean;
  name?: string;
}

type GradSave = (save: Tensor[]) => void;

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * A hard one-hot of argmax(soft) in the forward pass whose gradient is that of `soft`
 * (straight-through estimator, as `gumbel_softmax(hard=True)`).
 */
const straightThroughOneHot = customGrad((...args: (Tensor | GradSave)[]) => {
  const soft = args[0] as Tensor;
  const k = soft.shape[1] as number;
  // on the device (argMax takes the first of ties): no read-back, which is slow on webgl/webgpu;
  // one component (the unimodal initial set) is always picked (tf.oneHot needs depth >= 2)
  const hard = k === 1 ? onesLike(soft) : cast(oneHot(argMax(soft, 1), k), 'float32');
  return { value: hard, gradFunc: (dy: Tensor) => dy };
});

/** SetVAE's default initialisation: means ~ N(0, 1), σ = |N(0, 1)|/sqrt(K). */
function randomMixture(k: number, d: number, random: Random): { means: Float32Array; logStd: Float32Array } {
  const means = Float32Array.from({ length: k * d }, () => random.normal());
  const logStd = Float32Array.from({ length: k * d }, () =>
    Math.log(Math.abs(random.normal()) / Math.sqrt(k) + 1e-12),
  );
  return { means, logStd };
}

/** SetVAE's `fixed_gmm` initialisation (see `initialization`). */
function sphereLatticeMixture(k: number, d: number): { means: Float32Array; logStd: Float32Array } {
  const means = sphereLattice(d, k);
  let closest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      let squared = 0;
      for (let c = 0; c < d; c++) squared += (means[i * d + c] - means[j * d + c]) ** 2;
      closest = Math.min(closest, Math.sqrt(squared));
    }
  }
  const sigma = (Math.sqrt(d) * closest) / 10 + 1e-3;
  return { means: Float32Array.from(means), logStd: new Float32Array(k * d).fill(Math.log(sigma)) };
}

/**
 * SetVAE's mixture-of-Gaussians initial set. Weights (in order): `logits [K]` (init ones, as
 * SetVAE), `means [K, D]`, `logStd [K, D]` (see `initialization`). SetVAE learns σ itself; we
 * learn log σ, so σ stays positive.
 * `sample(batch, n)` → `[batch, n, D]` is reparameterised: gradients reach the means and
 * log-std directly and the logits through the straight-through Gumbel-softmax.
 */
export class MixtureOfGaussiansPrior extends layers.Layer {
  static className = 'SetgenMixtureOfGaussiansPrior';
  readonly numComponents: number;
  readonly dim: number;
  readonly temperature: number;
  readonly initialization: 'random' | 'sphere-lattice';
  readonly seed: number | undefined;
  private random: Random;
  private logits!: LayerVariable;
  private means!: LayerVariable;
  private logStd!: LayerVariable;

  constructor(args: MixtureOfGaussiansPriorArgs) {
    const layer = 'MixtureOfGaussiansPrior';
    const checked = checkLayerArgs(
      args,
      {
        numComponents: is.integer(1),
        dim: is.integer(1),
        temperature: is.number({ positive: true }),
        initialization: is.oneOf(['random', 'sphere-lattice'] as const),
        seed: is.seed,
      },
      layer,
    );
    super(args);
    this.numComponents = checkPositiveInteger(args.numComponents, `${layer}.numComponents`);
    this.dim = checkPositiveInteger(args.dim, `${layer}.dim`);
    this.temperature = checked.temperature ?? 1;
    this.initialization = checked.initialization ?? 'random';
    if (this.initialization === 'sphere-lattice' && (this.numComponents < 2 || this.dim < 2)) {
      throw new ConfigError(
        `MixtureOfGaussiansPrior: 'sphere-lattice' needs numComponents ≥ 2 and dim ≥ 2, got ${this.numComponents} and ${this.dim}`,
      );
    }
    this.seed = args.seed;
    this.random = new Random(args.seed ?? Math.floor(Math.random() * 2 ** 31));
    buildEagerly(this, [null, this.dim]);
  }

  override build(_inputShape: Shape | Shape[]): void {
    if (this.built) return;
    const init = new Random(this.seed ?? this.random.seed());
    const k = this.numComponents;
    const d = this.dim;
    const { means, logStd } =
      this.initialization === 'sphere-lattice' ? sphereLatticeMixture(k, d) : randomMixture(k, d, init);
    this.logits = this.addWeight('logits', [k], 'float32', initializers.ones());
    this.means = this.addWeight('means', [k, d], 'float32', initializers.zeros());
    this.logStd = this.addWeight('logStd', [k, d], 'float32', initializers.zeros());
    const initial = [tensor2d(means, [k, d]), tensor2d(logStd, [k, d])];
    this.means.write(initial[0]);
    this.logStd.write(initial[1]);
    dispose(initial);
    this.built = true;
  }

  /**
   * `n` i.i.d. points for each of `batchSize` sets → `[batchSize, n, D]` (SetVAE Eq. 21).
   * `seed` fixes this draw; without it the layer's own stream advances.
   */
  sample(batchSize: number, n: number, options: { seed?: number } = {}): Tensor3D {
    if (!Number.isInteger(batchSize) || batchSize < 0) {
      throw new ConfigError(`batchSize: expected a non-negative integer, got ${batchSize}`);
    }
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`n: expected a non-negative integer, got ${n}`);
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new ConfigError(`seed: expected an integer, got ${options.seed}`);
    }
    const random = options.seed === undefined ? this.random : new Random(options.seed);
    const rows = batchSize * n;
    const k = this.numComponents;
    const d = this.dim;
    // Gumbel noise picks the components, ε the offsets; both drawn on the host from the seed.
    const gumbel = Float32Array.from(
      { length: rows * k },
      () => -Math.log(-Math.log(random.next() || 1e-12)),
    );
    const eps = Float32Array.from({ length: rows * d }, () => random.normal());
    return tidy(() => {
      if (rows === 0) return reshape(tensor2d([], [0, d]), [batchSize, n, d]) as Tensor3D;
      const logits = expandDims(this.logits.read(), 0);
      const soft = softmax(div(add(logits, tensor2d(gumbel, [rows, k])), this.temperature));
      const oneHot = straightThroughOneHot(soft) as Tensor2D;
      const mean = matMul(oneHot, this.means.read() as Tensor2D);
      const std = matMul(oneHot, exp(this.logStd.read()) as Tensor2D);
      return reshape(add(mean, mul(std, tensor2d(eps, [rows, d]))), [batchSize, n, d]) as Tensor3D;
    });
  }

  /** log p(x) under the mixture, for points `x [..., D]` → `[...]`. */
  logProb(x: Tensor): Tensor {
    if (!x || x.rank < 1 || x.shape[x.rank - 1] !== this.dim) {
      throw new ShapeError(
        `x: expected shape [..., ${this.dim}], got ${x ? formatShape(x.shape) : typeof x}`,
      );
    }
    return tidy(() => {
      const flat = reshape(x, [-1, 1, this.dim]);
      const means = expandDims(this.means.read(), 0);
      const logStd = expandDims(this.logStd.read(), 0);
      // log N(x; μ_k, σ_k²) summed over dims → [P, K]
      const z = div(sub(flat, means), exp(logStd));
      const logNormal = sum(sub(mul(-0.5, add(square(z), LOG_2PI)), logStd), 2);
      const logWeights = logSoftmax(expandDims(this.logits.read(), 0));
      return reshape(logSumExp(add(logNormal, logWeights), 1), x.shape.slice(0, -1));
    });
  }

  /** Mixture weights softmax(logits) `[K]`. */
  mixtureWeights(): Tensor1D {
    return tidy(() => softmax(this.logits.read()) as Tensor1D);
  }

  /** `call(x)` = `logProb(x)`, so the prior can sit in a model as a likelihood head. */
  override call(inputs: Tensor | Tensor[]): Tensor {
    return this.logProb(Array.isArray(inputs) ? inputs[0] : inputs);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return shape.slice(0, -1);
  }

  override getConfig() {
    const config = {
      ...super.getConfig(),
      numComponents: this.numComponents,
      dim: this.dim,
      temperature: this.temperature,
      initialization: this.initialization,
    };
    return this.seed === undefined ? config : { ...config, seed: this.seed };
  }
}
serialization.registerClass(MixtureOfGaussiansPrior);

/** `new MixtureOfGaussiansPrior(args)`. */
export function mixtureOfGaussiansPrior(args: MixtureOfGaussiansPriorArgs): MixtureOfGaussiansPrior {
  return new MixtureOfGaussiansPrior(args);
}
