// First-n creation (Top-n paper §2.1; REFERENCES.md §7.1 FirstKSetGenerator): a learned
// sequence of maxSize points; a set of size n is its first n points, for every z.
import { checkPositiveInteger, is } from '@setgen/ops/internal';
import { expandDims, serialization, slice, type Tensor2D, type Tensor3D, tile } from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable } from '@tensorflow/tfjs-layers';
import type { Shape } from './layer-utils.js';
import { type SetCreationArgs, SetCreationLayer } from './set-creation.js';

/** Options of `FirstNCreation`. */
export interface FirstNCreationArgs extends SetCreationArgs {
  /** Number of learned points: the largest set it can create. */
  maxSize: number;
}

/**
 * First-n creation: X0[b] = Points[:sizes[b]]. Weights: `points [maxSize, C]`, init N(0, 1)
 * (the reference's randn). z only fixes the batch size. Sizes beyond maxSize are an error.
 */
export class FirstNCreation extends SetCreationLayer {
  static className = 'SetgenFirstNCreation';
  readonly maxSize: number;
  private points: LayerVariable | null = null;

  constructor(args: FirstNCreationArgs) {
    super(args, { maxSize: is.integer(1) });
    this.maxSize = checkPositiveInteger(args.maxSize, 'FirstNCreation.maxSize');
  }

  protected get paddedLength(): number {
    return this.maxSize;
  }

  protected get sizeLimit() {
    return { value: this.maxSize, name: 'maxSize' };
  }

  override build(_inputShape: Shape | Shape[]): void {
    this.points = this.addWeight(
      'points',
      [this.maxSize, this.featureDim],
      'float32',
      initializers.randomNormal({ seed: this.seed }),
    );
    this.built = true;
  }

  protected generate(z: Tensor2D, _sizes: number[], length: number): Tensor3D {
    const points = slice(this.points!.read(), [0, 0], [length, this.featureDim]);
    return tile(expandDims(points, 0), [z.shape[0], 1, 1]) as Tensor3D;
  }

  override getConfig() {
    return { ...super.getConfig(), maxSize: this.maxSize };
  }
}
serialization.registerClass(FirstNCreation);

/** `new FirstNCreation(args)`. */
export function firstNCreation(args: FirstNCreationArgs): FirstNCreation {
  return new FirstNCreation(args);
}
