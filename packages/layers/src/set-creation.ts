// Set creation (Top-n paper §2.1): turn a latent vector z into an initial set X0 of a
// requested size n. Every creation layer shares the interface below: `create(z, sizes)` →
// a padded SetBatch with a prefix mask (element i < sizes[b] is valid, padding rows are 0).

import { ConfigError, formatShape, maskFromSizes, type SetBatch, ShapeError } from '@setgen/ops';
import {
  type Check,
  checkFloat32,
  checkOptions,
  checkPositiveInteger,
  is,
  isTensor,
  zeroPadding,
} from '@setgen/ops/internal';
import {
  add,
  matMul,
  relu,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  tidy,
} from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { buildEagerly } from './eager-build.js';
import { checkLayerArgs, type Kwargs, type Shape } from './layer-utils.js';

/** Per-call options of `create`. */
export interface CreateOptions {
  /** Seed of this call's random draws (i.i.d. creation); default: the layer's own stream. */
  seed?: number;
}

/** What every creation layer offers (Top-n, First-n, i.i.d., MLP). */
export interface SetCreation {
  /**
   * `z [B, l]` and one size per set → `{ x [B, N, C], mask [B, N] }` with
   * `N = max(maxSize, max(sizes))`; element i < sizes[b] valid, padded rows are zero.
   */
  create(z: Tensor2D, sizes: number[] | Tensor1D, options?: CreateOptions): SetBatch;
}

/** Options shared by the creation layers. */
export interface SetCreationArgs {
  /** Feature dimension C of the created elements. */
  featureDim: number;
  /** Seed of the weight initialisers and of the random stream (default: random). */
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/** `sizes` as a host array, checked against the batch and an optional upper limit. */
export function readSizes(
  sizes: number[] | Tensor1D,
  batch: number,
  limit: { value: number; name: string } | null,
): number[] {
  const isArray = Array.isArray(sizes);
  if (!isArray && !(sizes && typeof sizes === 'object' && 'rank' in sizes)) {
    throw new ShapeError(`sizes: expected number[] or a Tensor1D [B], got ${typeof sizes}`);
  }
  if (!isArray && (sizes as Tensor1D).rank !== 1) {
    throw new ShapeError(
      `sizes: expected a Tensor1D [${batch}], got ${formatShape((sizes as Tensor1D).shape)}`,
    );
  }
  const list = isArray ? (sizes as number[]) : Array.from((sizes as Tensor1D).dataSync());
  if (list.length !== batch) {
    throw new ShapeError(`sizes: expected one size per set of z (${batch}), got ${list.length}`);
  }
  list.forEach((n, b) => {
    if (!Number.isInteger(n) || n < 0) {
      throw new ShapeError(`sizes[${b}]: expected a non-negative integer, got ${n}`);
    }
    if (limit && n > limit.value) {
      throw new ShapeError(
        `sizes[${b}]: ${n} exceeds ${limit.name} = ${limit.value}, the largest set this layer can create`,
      );
    }
  });
  return list;
}

/**
 * The shared skeleton: argument checks before any tensor work, prefix masks, zeroed padding.
 * Subclasses implement `generate` (the method's own recipe) and say how large a set may be.
 */
export abstract class SetCreationLayer extends layers.Layer implements SetCreation {
  readonly featureDim: number;
  readonly seed: number | undefined;
  /** z's width once built by a layer that reads z (null: z only fixes the batch size). */
  private latentDim: number | null = null;

  /** `spec`: the subclass's own options, checked with the shared ones (unknown keys refused). */
  constructor(args: SetCreationArgs, spec: Record<string, Check<unknown>> = {}) {
    const layer = new.target.name;
    checkLayerArgs(args, { featureDim: is.integer(1), seed: is.seed, ...spec }, layer);
    super(args);
    this.featureDim = checkPositiveInteger(args.featureDim, `${layer}.featureDim`);
    this.seed = args.seed;
  }

  /** The padded length when no size exceeds it (null: the largest requested size). */
  protected abstract get paddedLength(): number | null;

  /** The largest size this method can create (null: any). */
  protected abstract get sizeLimit(): { value: number; name: string } | null;

  /** The elements `[B, length, C]` (rows ≥ sizes[b] are masked afterwards). Runs inside a tidy. */
  protected abstract generate(z: Tensor2D, sizes: number[], length: number, options: CreateOptions): Tensor3D;

  create(z: Tensor2D, sizes: number[] | Tensor1D, options: CreateOptions = {}): SetBatch {
    if (!isTensor(z) || z.rank !== 2) {
      throw new ShapeError(
        `z: expected a Tensor2D [B, latentDim], got ${isTensor(z) ? formatShape(z.shape) : typeof z}`,
      );
    }
    checkFloat32(z, 'z');
    this.checkLatent(z);
    const list = readSizes(sizes, z.shape[0], this.sizeLimit);
    checkOptions(options, { seed: is.seed }, `${this.getClassName()}.create options`);
    if (!this.built) buildEagerly(this, z.shape);
    const length = Math.max(this.paddedLength ?? 0, ...list, 0);
    return tidy(() => {
      const mask = maskFromSizes(list, length);
      const x = zeroPadding(this.generate(z, list, length, options), mask) as Tensor3D;
      return { x, mask };
    });
  }

  /**
   * z's latent width from a build shape, for layers that read z (`ShapeError` unless
   * `[B, latentDim]` with a known width); every later `create` is checked against it.
   */
  protected buildLatentDim(inputShape: Shape | Shape[]): number {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const latentDim = shape[shape.length - 1];
    if (shape.length !== 2 || latentDim === null) {
      throw new ShapeError(
        `${this.constructor.name}: expected z of shape [B, latentDim] with a known latentDim, got ${formatShape(shape)}`,
      );
    }
    this.latentDim = latentDim;
    return latentDim;
  }

  /** Checks z's latent width against the one built for (layers that read z). */
  protected checkLatent(z: Tensor2D): void {
    if (this.latentDim !== null && z.shape[1] !== this.latentDim) {
      throw new ShapeError(
        `z: expected [B, ${this.latentDim}] (the latent size built for), got ${formatShape(z.shape)}`,
      );
    }
  }

  /** `call(z, { sizes, seed })` → `[x, mask]`. Without sizes every set gets the padded length. */
  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor[] {
    const z = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor2D;
    let sizes = kwargs?.sizes as number[] | Tensor1D | undefined;
    if (sizes === undefined) {
      if (this.paddedLength === null) {
        throw new ConfigError(`${this.getClassName()}: kwargs.sizes is required (this layer has no maxSize)`);
      }
      sizes = new Array<number>(z.shape?.[0] ?? 0).fill(this.paddedLength);
    }
    const { x, mask } = this.create(z, sizes, { seed: kwargs?.seed });
    return [x, mask as Tensor2D];
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [
      [shape[0], this.paddedLength, this.featureDim],
      [shape[0], this.paddedLength],
    ];
  }

  override getConfig() {
    const config = { ...super.getConfig(), featureDim: this.featureDim };
    return this.seed === undefined ? config : { ...config, seed: this.seed };
  }
}

/**
 * Top-n's two-layer MLP (layers/base_layers.py, nb_layers = 2): h = relu(z·W1 + b1) (+ z when
 * z's width equals the hidden width); out = relu(h)·W2 + b2 (+ h when out's width equals it).
 */
export function residualMlp(
  z: Tensor2D,
  kernel1: Tensor,
  bias1: Tensor,
  kernel2: Tensor,
  bias2: Tensor,
): Tensor2D {
  return tidy(() => {
    const width = kernel1.shape[1]!;
    let h = relu(add(matMul(z, kernel1 as Tensor2D), bias1)) as Tensor2D;
    if (z.shape[1] === width) h = add(h, z);
    let out = add(matMul(relu(h), kernel2 as Tensor2D), bias2) as Tensor2D;
    if (kernel2.shape[1] === width) out = add(out, h);
    return out;
  });
}
