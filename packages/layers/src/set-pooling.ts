// Mask-aware permutation-invariant poolings over the element axis of a padded set batch:
// sum, mean, max (DeepSets) and PNA's concatenation of several aggregators (Corso et al.
// 2020; Top-n's encoder uses a PNA aggregator). Padding never changes a result.

import { asSetBatch, formatShape, ShapeError } from '@setgen/ops';
import {
  checkChoice,
  checkFloat32,
  checkOptions,
  is,
  isTensor,
  saveShared,
  zeroPadding,
} from '@setgen/ops/internal';
import {
  add,
  concat,
  customGrad,
  div,
  expandDims,
  type GradSaveFunc,
  max,
  mul,
  reshape,
  serialization,
  sqrt,
  square,
  step,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor2d,
  tensor3d,
  tidy,
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
  const [b, n] = x.shape;
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
  // which entries are elements, read on the host so no comparison enters the gradient tape;
  // every mask below is built there at its broadcasting shape ([B, N, 1], [B, 1]): tfjs-wasm's
  // Tile of a mask to [B, N, C] and its broadcasting Equal (tf.max's gradient) cost more than
  // the whole pooling (measured [128, 9, 64]: ≈ 5 ms and ≈ 9 ms, against ≈ 0.1 ms an op)
  const maskValues = batch.mask?.dataSync();
  const valid = new Float32Array(b * n).map((_, i) => (maskValues ? +(maskValues[i] > 0.5) : 1));
  const counts = countsOf(valid, b, n);
  const nonEmpty = counts.map((count) => +(count > 0));
  return tidy(() => {
    const validMask = tensor2d(valid, [b, n]);
    const keep = reshape(validMask, [b, n, 1]);
    // padded rows are replaced (not multiplied) by exact zeros, so even NaN there is ignored
    const elements = maskValues ? zeroPadding(x, validMask) : x;
    const w = weights ? expandDims(zeroPadding(weights, validMask), 2) : null; // [B, N, 1]
    const total = sum(w ? mul(elements, w) : elements, 1) as Tensor2D;
    if (mode === 'sum') return total;
    // Σ weights or the element count, [B, 1]; an empty set divides by 1
    const denominator = w
      ? add(
          sum(w, 1),
          tensor2d(
            nonEmpty.map((e) => 1 - e),
            [b, 1],
          ),
        )
      : tensor2d(
          counts.map((count) => count || 1),
          [b, 1],
        );
    const mean = div(total, denominator) as Tensor2D;
    if (mode === 'mean') return mean;
    // -∞ at the padding of non-empty sets; an empty set keeps its zeros, so its max is 0
    const exclude = valid.map((v, i) => (v || !nonEmpty[Math.floor(i / n)] ? 0 : Number.NEGATIVE_INFINITY));
    const largest = maskedMax(elements, maskValues ? tensor3d(exclude, [b, n, 1]) : null);
    if (mode === 'max') return largest;
    const squares = mul(square(sub(elements, expandDims(mean, 1))), w ?? keep);
    const variance = div(sum(squares, 1), denominator);
    const std = mul(sqrt(add(variance, PNA_STD_EPSILON)), tensor2d(nonEmpty, [b, 1]));
    return concat([total, mean, largest, std], 1) as Tensor2D;
  });
}

/**
 * `max(x + exclude, 1)` for `x [B, N, C]` and `exclude [B, N, 1]` (0 or -∞), with the gradient
 * of tf.max (dy to every element equal to its set's maximum) from an indicator computed once
 * in the forward pass with arithmetic only (x − max ≤ 0, and = 0 exactly at the maxima).
 */
function maskedMax(x: Tensor3D, exclude: Tensor3D | null): Tensor2D {
  const f = customGrad(((t: Tensor3D, save: GradSaveFunc) => {
    const shifted = exclude ? add(t, exclude) : t;
    const value = max(shifted, 1);
    saveShared(save, [sub(1, step(sub(expandDims(value, 1), shifted)))]);
    return {
      value,
      gradFunc: (dy: Tensor, [atMax]: Tensor[]) => mul(atMax, expandDims(dy, 1)),
    };
  }) as unknown as Parameters<typeof customGrad>[0]);
  return f(x) as Tensor2D;
}

/** The number of elements of each set, `[B]` as a Float32Array. */
function countsOf(valid: Float32Array, b: number, n: number): Float32Array {
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
