import {
  expandDims,
  greater,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  tensor2d,
  tidy,
  where,
  zerosLike,
} from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';

/**
 * Prefix masks from set sizes: `mask[b, i] = 1` for `i < sizes[b]`, else 0. `[B, maxSize]` float32.
 */
export function maskFromSizes(sizes: number[] | Tensor1D, maxSize: number): Tensor2D {
  const list = Array.isArray(sizes) ? sizes : Array.from((sizes as Tensor1D).dataSync());
  if (!Array.isArray(sizes) && (sizes as Tensor1D).rank !== 1) {
    throw new ShapeError(`sizes: expected a Tensor1D [B], got rank ${(sizes as Tensor1D).rank}`);
  }
  if (!Number.isInteger(maxSize) || maxSize < 0) {
    throw new ShapeError(`maxSize: expected a non-negative integer, got ${maxSize}`);
  }
  const values = new Float32Array(list.length * maxSize);
  list.forEach((size, b) => {
    if (!Number.isInteger(size) || size < 0 || size > maxSize) {
      throw new ShapeError(`sizes[${b}]: expected an integer in [0, ${maxSize}], got ${size}`);
    }
    values.fill(1, b * maxSize, b * maxSize + size);
  });
  return tensor2d(values, [list.length, maxSize]);
}

/**
 * `x [B, N, …]` with the padded elements (mask ≤ 0.5) set to exactly 0, by `where`: NaN or
 * ±Inf in the padding never propagates (a product with the mask would give 0·NaN = NaN) and
 * no gradient reaches it. Without a mask, `x` itself.
 */
export function zeroPadding<T extends Tensor>(x: T, mask: Tensor2D | null | undefined): T {
  if (!mask) return x;
  return tidy(() => {
    let valid: Tensor = greater(mask, 0.5);
    while (valid.rank < x.rank) valid = expandDims(valid, -1);
    return where(valid, x, zerosLike(x)) as T;
  });
}
