// Mask-aware permutation-invariant poolings over the element axis of a padded set batch:
// sum, mean, max (DeepSets) and PNA's concatenation of several aggregators (Corso et al.
// 2020; Top-n's encoder uses a PNA aggregator). Padding never changes a result.

import { asSetBatch, ConfigError } from '@setgen/ops';
import {
  add,
  concat,
  div,
  expandDims,
  max,
  maximum,
  minimum,
  mul,
  relu,
  serialization,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tidy,
} from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { type Kwargs, masksFromKwargs, type Shape } from './layer-utils.js';

/** The poolings `setPooling` offers. */
export type SetPoolingMode = 'sum' | 'mean' | 'max' | 'pna';
const MODES: readonly SetPoolingMode[] = ['sum', 'mean', 'max', 'pna'];

/** Added to the variance under PNA's square root, as PNA does, so the gradient stays finite. */
export const PNA_STD_EPSILON = 1e-5;

/** Padded elements are shifted this far down before a max, so they never win it. */
const MAX_PADDING_OFFSET = 1e9;

function checkMode(mode: string): SetPoolingMode {
  if (!MODES.includes(mode as SetPoolingMode)) {
    throw new ConfigError(
      `mode: expected one of ${MODES.map((m) => `'${m}'`).join(' | ')}, got ${JSON.stringify(mode)}`,
    );
  }
  return mode as SetPoolingMode;
}

/**
 * Pools `x [B, N, C]` over its valid elements (`mask [B, N]`, 1 = element) → `[B, C]`, or
 * `[B, 4C]` for `'pna'` = concat(sum, mean, max, std) with std = sqrt(var + 1e-5) (the
 * population variance). Empty sets pool to zeros in every mode.
 */
export function setPooling(x: Tensor3D, mask?: Tensor2D | null, mode: SetPoolingMode = 'mean'): Tensor2D {
  const batch = asSetBatch(mask ? { x, mask } : x, 'x');
  checkMode(mode);
  return tidy(() => {
    const m = batch.mask ? expandDims(batch.mask, 2) : undefined; // [B, N, 1]
    const count = m ? sum(m, 1) : undefined; // [B, 1]
    const total = sum(m ? mul(x, m) : x, 1) as Tensor2D;
    if (mode === 'sum') return total;
    const mean = (count ? div(total, maximum(count, 1)) : div(total, x.shape[1] || 1)) as Tensor2D;
    if (mode === 'mean') return mean;
    const nonEmpty = count ? minimum(count, 1) : undefined;
    let largest = max(m ? sub(x, mul(sub(1, m), MAX_PADDING_OFFSET)) : x, 1) as Tensor2D;
    if (nonEmpty) largest = mul(largest, nonEmpty);
    if (mode === 'max') return largest;
    const deviation = square(sub(x, expandDims(mean, 1)));
    const squares = sum(m ? mul(deviation, m) : deviation, 1);
    const variance = relu(count ? div(squares, maximum(count, 1)) : div(squares, x.shape[1] || 1));
    let std = sqrt(add(variance, PNA_STD_EPSILON)) as Tensor2D;
    if (nonEmpty) std = mul(std, nonEmpty);
    return concat([total, mean, largest, std], 1) as Tensor2D;
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
