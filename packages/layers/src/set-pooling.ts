// Mask-aware permutation-invariant poolings over the element axis of a padded set batch:
// sum, mean, max (DeepSets) and PNA's concatenation of several aggregators (Corso et al.
// 2020; Top-n's encoder uses a PNA aggregator). Padding never changes a result.

import { asSetBatch, ConfigError } from '@setgen/ops';
import {
  add,
  broadcastTo,
  cast,
  concat,
  div,
  expandDims,
  fill,
  max,
  mul,
  ones,
  onesLike,
  serialization,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor2d,
  tensor3d,
  tidy,
  where,
  zerosLike,
} from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { type Kwargs, masksFromKwargs, type Shape } from './layer-utils.js';

/** The poolings `setPooling` offers. */
export type SetPoolingMode = 'sum' | 'mean' | 'max' | 'pna';
const MODES: readonly SetPoolingMode[] = ['sum', 'mean', 'max', 'pna'];

/** Added to the variance under PNA's square root, as PNA does, so the gradient stays finite. */
export const PNA_STD_EPSILON = 1e-5;

function checkMode(mode: string): SetPoolingMode {
  if (!MODES.includes(mode as SetPoolingMode)) {
    throw new ConfigError(
      `mode: expected one of ${MODES.map((m) => `'${m}'`).join(' | ')}, got ${JSON.stringify(mode)}`,
    );
  }
  return mode as SetPoolingMode;
}

/**
 * Pools `x [B, N, C]` over its valid elements (`mask [B, N]`: > 0 = element) → `[B, C]`, or
 * `[B, 4C]` for `'pna'` = concat(sum, mean, max, std) with std = sqrt(var + 1e-5) (the
 * population variance). Empty sets pool to zeros in every mode. Sum, mean and std weight each
 * element by its mask value (a 0/1 mask gives the plain statistics; a soft mask, as DSPN
 * learns, gives weighted ones and a gradient w.r.t. the mask); max is over the elements.
 */
export function setPooling(x: Tensor3D, mask?: Tensor2D | null, mode: SetPoolingMode = 'mean'): Tensor2D {
  const batch = asSetBatch(mask ? { x, mask } : x, 'x');
  checkMode(mode);
  const [b, n, c] = x.shape;
  // which entries are elements, read on the host so no comparison enters the gradient tape
  const maskValues = batch.mask?.dataSync();
  const validValues = new Uint8Array(b * n).map((_, i) => (maskValues ? +(maskValues[i] > 0) : 1));
  const nonEmptyValues = new Uint8Array(b).map(
    (_, i) => +validValues.subarray(i * n, (i + 1) * n).includes(1),
  );
  return tidy(() => {
    // padded entries are replaced (not multiplied) by neutral values, so even NaN there is ignored
    const valid = broadcastTo(tensor3d(validValues, [b, n, 1], 'bool'), x.shape);
    const nonEmpty = broadcastTo(tensor2d(nonEmptyValues, [b, 1], 'bool'), [b, c]);
    const zeros = zerosLike(x);
    const weights = batch.mask ? expandDims(cast(batch.mask, 'float32'), 2) : ones([b, n, 1]); // [B, N, 1]
    const total = sum(where(valid, mul(x, weights), zeros), 1) as Tensor2D;
    if (mode === 'sum') return total;
    const count = sum(where(valid, broadcastTo(weights, x.shape), zeros), 1); // Σ weights, [B, C]
    const denominator = where(nonEmpty, count, onesLike(count));
    const mean = div(total, denominator) as Tensor2D;
    if (mode === 'mean') return mean;
    const largestValid = max(where(valid, x, fill(x.shape, Number.NEGATIVE_INFINITY)), 1);
    const largest = where(nonEmpty, largestValid, zerosLike(largestValid)) as Tensor2D;
    if (mode === 'max') return largest;
    const deviation = mul(square(sub(x, expandDims(mean, 1))), weights);
    const variance = div(sum(where(valid, deviation, zeros), 1), denominator);
    const std = sqrt(add(variance, PNA_STD_EPSILON));
    return concat([total, mean, largest, where(nonEmpty, std, zerosLike(std))], 1) as Tensor2D;
  });
}

/** Options of `SetPooling`. */
export interface SetPoolingArgs {
  /** Which pooling; default `'mean'`. */
  mode?: SetPoolingMode;
  name?: string;
}

/** `setPooling` as a layer: `[B, N, C]` (+ `kwargs.mask`) → `[B, C]` (`[B, 4C]` for 'pna'). No weights. */
export class SetPooling extends layers.Layer {
  static className = 'SetgenSetPooling';
  readonly mode: SetPoolingMode;

  constructor(args: SetPoolingArgs = {}) {
    super(args);
    this.mode = checkMode(args.mode ?? 'mean');
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor2D {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor3D;
    return setPooling(x, masksFromKwargs(kwargs, [x], 'SetPooling')[0], this.mode);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[2];
    return [shape[0], this.mode === 'pna' && channels !== null ? 4 * channels : channels];
  }

  override getConfig() {
    return { ...super.getConfig(), mode: this.mode };
  }
}
serialization.registerClass(SetPooling);

/** `new SetPooling(args)`. */
export function setPoolingLayer(args: SetPoolingArgs = {}): SetPooling {
  return new SetPooling(args);
}
