// Mask-aware permutation-invariant poolings over the element axis of a padded set batch:
// sum, mean, max (DeepSets) and PNA's concatenation of several aggregators (Corso et al.
// 2020; Top-n's encoder uses a PNA aggregator). Padding never changes a result.

import { asSetBatch, formatShape, ShapeError } from '@setgen/ops';
import { checkChoice, checkFloat32, checkOptions, is, isTensor } from '@setgen/ops/internal';
import {
  add,
  broadcastTo,
  concat,
  div,
  expandDims,
  fill,
  max,
  mul,
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
import { checkLayerArgs, type Kwargs, masksFromKwargs, type Shape } from './layer-utils.js';

/** The poolings `setPooling` offers. */
export type SetPoolingMode = 'sum' | 'mean' | 'max' | 'pna';
const MODES: readonly SetPoolingMode[] = ['sum', 'mean', 'max', 'pna'];

/** Added to the variance under PNA's square root, as PNA does, so the gradient stays finite. */
export const PNA_STD_EPSILON = 1e-5;

function checkMode(mode: unknown): SetPoolingMode {
  return checkChoice(mode, 'mode', MODES);
}

/** Per-call options of {@link setPooling}. */
export interface SetPoolingOptions {
  /**
   * Soft weights `[B, N]` of the elements (DSPN-style learned membership): sum, mean and std
   * weight each element by them (mean = Σ w·x / Σ w) and are differentiable w.r.t. them. They
   * apply on top of the mask, which still says which rows are elements; max ignores them.
   */
  weights?: Tensor2D;
}

/**
 * Pools `x [B, N, C]` over its elements (`mask [B, N]`: > 0.5 = element, as everywhere in
 * @setgen) → `[B, C]`, or `[B, 4C]` for `'pna'` = concat(sum, mean, max, std) with
 * std = sqrt(var + 1e-5) (the population variance). Empty sets pool to zeros in every mode.
 * The mask selects, it never weights: a mask of 0.3 or NaN is padding and 2 is an element.
 * For weighted statistics pass `options.weights`. Padded rows may hold anything (even NaN).
 */
export function setPooling(
  x: Tensor3D,
  mask?: Tensor2D | null,
  mode: SetPoolingMode = 'mean',
  options: SetPoolingOptions = {},
): Tensor2D {
  const batch = asSetBatch(mask ? { x, mask } : x, 'x');
  checkMode(mode);
  const { weights } = checkOptions(options, { weights: is.any }, 'setPooling options') as SetPoolingOptions;
  const [b, n, c] = x.shape;
  if (weights !== undefined) {
    if (!isTensor(weights) || weights.rank !== 2 || weights.shape[0] !== b || weights.shape[1] !== n) {
      throw new ShapeError(
        `setPooling options.weights: expected a Tensor2D ${formatShape([b, n])} like x's mask, got ${
          isTensor(weights) ? formatShape(weights.shape) : typeof weights
        }`,
      );
    }
    checkFloat32(weights, 'setPooling options.weights');
  }
  // which entries are elements, read on the host so no comparison enters the gradient tape
  const maskValues = batch.mask?.dataSync();
  const validValues = new Uint8Array(b * n).map((_, i) => (maskValues ? +(maskValues[i] > 0.5) : 1));
  const nonEmptyValues = new Uint8Array(b).map(
    (_, i) => +validValues.subarray(i * n, (i + 1) * n).includes(1),
  );
  return tidy(() => {
    // padded entries are replaced (not multiplied) by neutral values, so even NaN there is ignored
    const valid = broadcastTo(tensor3d(validValues, [b, n, 1], 'bool'), x.shape);
    const nonEmpty = broadcastTo(tensor2d(nonEmptyValues, [b, 1], 'bool'), [b, c]);
    const zeros = zerosLike(x);
    const elements = where(valid, x, zeros); // padded rows are exact zeros from here on
    const w = weights ? where(valid, broadcastTo(expandDims(weights, 2), x.shape), zeros) : null;
    const total = sum(w ? mul(elements, w) : elements, 1) as Tensor2D;
    if (mode === 'sum') return total;
    const count = w
      ? sum(w, 1) // Σ weights, [B, C]
      : broadcastTo(tensor2d(countsOf(validValues, b, n), [b, 1]), [b, c]);
    const denominator = where(nonEmpty, count, onesLike(count));
    const mean = div(total, denominator) as Tensor2D;
    if (mode === 'mean') return mean;
    const largestValid = max(where(valid, x, fill(x.shape, Number.NEGATIVE_INFINITY)), 1);
    const largest = where(nonEmpty, largestValid, zerosLike(largestValid)) as Tensor2D;
    if (mode === 'max') return largest;
    const squares = where(valid, square(sub(elements, expandDims(mean, 1))), zeros);
    const variance = div(sum(w ? mul(squares, w) : squares, 1), denominator);
    const std = sqrt(add(variance, PNA_STD_EPSILON));
    return concat([total, mean, largest, where(nonEmpty, std, zerosLike(std))], 1) as Tensor2D;
  });
}

/** The number of elements of each set, `[B]` as a Float32Array. */
function countsOf(valid: Uint8Array, b: number, n: number): Float32Array {
  return Float32Array.from({ length: b }, (_, s) =>
    valid.subarray(s * n, (s + 1) * n).reduce((t, v) => t + v, 0),
  );
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
    const checked = checkLayerArgs(args, { mode: is.oneOf(MODES) }, 'SetPooling');
    super(args);
    this.mode = checked.mode ?? 'mean';
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
