// i.i.d. creation (Top-n paper §2.1; SetVAE Eq. 21): every element is an independent draw
// from a fixed or learned distribution; z only fixes the batch size. Works for any size.

import { ConfigError, Random } from '@setgen/ops';
import { is } from '@setgen/ops/internal';
import {
  div,
  reshape,
  serialization,
  type Tensor2D,
  type Tensor3D,
  tensor,
  tensor3d,
} from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { MixtureOfGaussiansPrior, type MixtureOfGaussiansPriorArgs } from './mixture-of-gaussians-prior.js';
import { type CreateOptions, type SetCreationArgs, SetCreationLayer } from './set-creation.js';

/** Options of `IidCreation`. */
export interface IidCreationArgs extends SetCreationArgs {
  /**
   * The element distribution: `'normal'` = N(0, I) (Top-n's RandomSetGenerator), or a
   * `MixtureOfGaussiansPrior` whose `dim` equals `featureDim` (SetVAE's initial set; its
   * weights become this layer's weights). A serialised prior `{ className, config }` is
   * accepted too (that is what `getConfig` writes). Default `'normal'`.
   */
  prior?: 'normal' | MixtureOfGaussiansPrior | { className: string; config: MixtureOfGaussiansPriorArgs };
  /** Divide each set by sqrt(n) (Top-n's i.i.d. generator does); default false. */
  scaleBySqrtN?: boolean;
  /** Padded length when no requested size exceeds it; default: the largest requested size. */
  maxSize?: number;
}

function resolvePrior(
  prior: IidCreationArgs['prior'],
  featureDim: number,
): 'normal' | MixtureOfGaussiansPrior {
  if (prior === undefined || prior === 'normal') return 'normal';
  if (prior instanceof MixtureOfGaussiansPrior) {
    if (prior.dim !== featureDim) {
      throw new ConfigError(`IidCreation: prior.dim (${prior.dim}) must equal featureDim (${featureDim})`);
    }
    return prior;
  }
  if (typeof prior === 'object' && prior.className === MixtureOfGaussiansPrior.className) {
    return resolvePrior(new MixtureOfGaussiansPrior(prior.config), featureDim);
  }
  throw new ConfigError(
    `IidCreation: prior must be 'normal' or a MixtureOfGaussiansPrior, got ${JSON.stringify(prior)}`,
  );
}

/**
 * `X0[b, i] ~ prior` i.i.d. for i < sizes[b] (divided by sqrt(n) with `scaleBySqrtN`). Random
 * draws are seeded: `create(z, sizes, { seed })` repeats exactly; without a seed the layer's
 * stream (from `args.seed`) advances. Weights: none for `'normal'`, else the prior's.
 */
export class IidCreation extends SetCreationLayer {
  static className = 'SetgenIidCreation';
  readonly prior: 'normal' | MixtureOfGaussiansPrior;
  readonly scaleBySqrtN: boolean;
  readonly maxSize: number | undefined;
  private random: Random;

  constructor(args: IidCreationArgs) {
    super(args, { prior: is.any, scaleBySqrtN: is.boolean, maxSize: is.integer(0) });
    this.prior = resolvePrior(args.prior, this.featureDim);
    this.scaleBySqrtN = args.scaleBySqrtN ?? false;
    this.maxSize = args.maxSize;
    this.random = new Random(args.seed ?? Math.floor(Math.random() * 2 ** 31));
  }

  protected get paddedLength(): number | null {
    return this.maxSize ?? null;
  }

  protected get sizeLimit(): null {
    return null;
  }

  override get trainableWeights(): LayerVariable[] {
    return this.prior === 'normal' || !this.trainable ? [] : this.prior.trainableWeights;
  }

  override get nonTrainableWeights(): LayerVariable[] {
    if (this.prior === 'normal') return [];
    return this.trainable ? this.prior.nonTrainableWeights : this.prior.weights;
  }

  protected generate(z: Tensor2D, sizes: number[], length: number, options: CreateOptions): Tensor3D {
    const batch = z.shape[0];
    const seed = options.seed ?? this.random.seed();
    const x =
      this.prior === 'normal'
        ? normalSample(batch, length, this.featureDim, new Random(seed))
        : this.prior.sample(batch, length, { seed });
    if (!this.scaleBySqrtN) return x;
    const scale = sizes.map((n) => Math.sqrt(Math.max(n, 1)));
    return div(x, reshape(tensor(scale), [batch, 1, 1]));
  }

  override getConfig() {
    const prior =
      this.prior === 'normal'
        ? 'normal'
        : { className: MixtureOfGaussiansPrior.className, config: this.prior.getConfig() };
    const config: Record<string, any> = { ...super.getConfig(), prior, scaleBySqrtN: this.scaleBySqrtN };
    if (this.maxSize !== undefined) config.maxSize = this.maxSize;
    return config as ReturnType<SetCreationLayer['getConfig']>;
  }
}
serialization.registerClass(IidCreation);

function normalSample(batch: number, length: number, dim: number, random: Random): Tensor3D {
  return tensor3d(
    Float32Array.from({ length: batch * length * dim }, () => random.normal()),
    [batch, length, dim],
  );
}

/** `new IidCreation(args)`. */
export function iidCreation(args: IidCreationArgs): IidCreation {
  return new IidCreation(args);
}
