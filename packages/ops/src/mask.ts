import { cast, greater, type Tensor1D, type Tensor2D, tensor2d, tidy } from '@tensorflow/tfjs-core';
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
 * THE definition of a mask in @setgen: an entry is an element exactly where `mask > 0.5`;
 * anything else (0, 0.3, NaN) is padding, and 2 counts as 1. Returns that 0/1 float32 mask
 * `[B, N]` (one cheap op on the small mask), so a mask of 0.3, 2 or NaN can never scale a
 * value: it selects, as the host paths' `mask[b, i] > 0.5` does.
 */
export function elementMask(mask: Tensor2D): Tensor2D {
  return tidy(() => cast(greater(mask, 0.5), 'float32') as Tensor2D);
}
