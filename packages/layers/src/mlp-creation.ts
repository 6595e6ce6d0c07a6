// MLP creation (Top-n paper §2.1; REFERENCES.md §7.1 MLPGenerator): a two-layer MLP maps z
// to maxSize·C numbers, read as maxSize points; a set of size n keeps the first n.

import { checkPositiveInteger, is } from '@setgen/ops/internal';
import { reshape, serialization, type Tensor2D, type Tensor3D } from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import type { Shape } from './layer-utils.js';
import { linearInitializer } from './linear-init.js';
import { residualMlp, type SetCreationArgs, SetCreationLayer } from './set-creation.js';

/** Options of `MLPCreation`. */
export interface MLPCreationArgs extends SetCreationArgs {
  /** Number of points the MLP outputs: the largest set it can create. */
  maxSize: number;
  /** Hidden width of the MLP; default 512 (Top-n's `mlp_gen_hidden`). */
  hiddenUnits?: number;
}

/**
 * MLP creation: X0 = reshape(MLP(z), [maxSize, C])[:n] with the reference's two-layer MLP,
 * h = relu(z·W1 + b1), MLP(z) = relu(h)·W2 + b2 (residuals where widths match). Weights: `kernel1 [l, h]`, `bias1 [h]`,
 * `kernel2 [h, maxSize·C]`, `bias2 [maxSize·C]`, from PyTorch's U(±1/sqrt(fanIn)).
 */
export class MLPCreation extends SetCreationLayer {
  static className = 'SetgenMLPCreation';
  readonly maxSize: number;
  readonly hiddenUnits: number;
  private w: {
    kernel1: LayerVariable;
    bias1: LayerVariable;
    kernel2: LayerVariable;
    bias2: LayerVariable;
  } | null = null;

  constructor(args: MLPCreationArgs) {
    super(args, { maxSize: is.integer(1), hiddenUnits: is.integer(1) });
    this.maxSize = checkPositiveInteger(args.maxSize, 'MLPCreation.maxSize');
    this.hiddenUnits = args.hiddenUnits ?? 512;
  }

  protected get paddedLength(): number {
    return this.maxSize;
  }

  protected get sizeLimit() {
    return { value: this.maxSize, name: 'maxSize' };
  }

  override build(inputShape: Shape | Shape[]): void {
    const latentDim = this.buildLatentDim(inputShape);
    const out = this.maxSize * this.featureDim;
    const seed = (offset: number) => (this.seed === undefined ? undefined : this.seed + offset);
    this.w = {
      kernel1: this.addWeight(
        'kernel1',
        [latentDim, this.hiddenUnits],
        'float32',
        linearInitializer(latentDim, seed(0)),
      ),
      bias1: this.addWeight('bias1', [this.hiddenUnits], 'float32', linearInitializer(latentDim, seed(1))),
      kernel2: this.addWeight(
        'kernel2',
        [this.hiddenUnits, out],
        'float32',
        linearInitializer(this.hiddenUnits, seed(2)),
      ),
      bias2: this.addWeight('bias2', [out], 'float32', linearInitializer(this.hiddenUnits, seed(3))),
    };
    this.built = true;
  }

  protected generate(z: Tensor2D, _sizes: number[], length: number): Tensor3D {
    const w = this.w!;
    const flat = residualMlp(z, w.kernel1.read(), w.bias1.read(), w.kernel2.read(), w.bias2.read());
    // sizes never exceed maxSize, so the padded length is maxSize
    return reshape(flat, [z.shape[0], length, this.featureDim]) as Tensor3D;
  }

  override getConfig() {
    return { ...super.getConfig(), maxSize: this.maxSize, hiddenUnits: this.hiddenUnits };
  }
}
serialization.registerClass(MLPCreation);

/** `new MLPCreation(args)`. */
export function mlpCreation(args: MLPCreationArgs): MLPCreation {
  return new MLPCreation(args);
}
