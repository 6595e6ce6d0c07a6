import { DataError, type HostSet, type SetBatch, ShapeError } from '@setgen/ops';
import { checkHostSet, checkInteger, checkOptions, is } from '@setgen/ops/internal';
import { tensor2d, tensor3d } from '@tensorflow/tfjs-core';

/** Sets padded on the host: `values [B·N·D]` with zeros at padding, prefix `mask [B·N]`. */
export interface PaddedSets {
  values: Float32Array;
  mask: Float32Array;
  sizes: number[];
  batchSize: number;
  maxSize: number;
  dim: number;
}

/** Options of `padSets` and `toSetBatch`. */
export interface PadOptions {
  /** Padded size N. Default: the largest set. A larger set is a `ShapeError`. */
  maxSize?: number;
}

/**
 * Pads sets to a common size on the host (prefix layout: element i < n is valid). Throws
 * `ShapeError` if dimensions differ or a set exceeds `maxSize`.
 */
export function padSets(sets: readonly HostSet[], options: PadOptions = {}): PaddedSets {
  if (!Array.isArray(sets) || sets.length === 0) {
    throw new DataError(
      `sets: expected a non-empty HostSet[], got ${Array.isArray(sets) ? 'an empty array' : typeof sets}`,
    );
  }
  checkOptions(options, { maxSize: is.any }, 'options');
  sets.forEach((set, i) => {
    checkHostSet(set, `sets[${i}]`, { allowEmpty: true });
  });
  const dim = sets[0].d;
  const largest = Math.max(...sets.map((s) => s.n));
  const maxSize = options.maxSize === undefined ? largest : checkInteger(options.maxSize, 'maxSize', 0);
  sets.forEach((set, i) => {
    if (set.d !== dim)
      throw new ShapeError(`sets[${i}]: expected dimension d=${dim} like sets[0], got d=${set.d}`);
    if (set.n > maxSize)
      throw new ShapeError(`sets[${i}]: has ${set.n} elements, more than maxSize=${maxSize}`);
  });
  const values = new Float32Array(sets.length * maxSize * dim);
  const mask = new Float32Array(sets.length * maxSize);
  sets.forEach((set, b) => {
    values.set(set.values, b * maxSize * dim);
    mask.fill(1, b * maxSize, b * maxSize + set.n);
  });
  return { values, mask, sizes: sets.map((s) => s.n), batchSize: sets.length, maxSize, dim };
}

/**
 * Host sets → a `SetBatch` `{ x [B, N, D], mask [B, N] }` with zero padding. The caller owns
 * (and disposes) both tensors.
 */
export function toSetBatch(sets: readonly HostSet[], options: PadOptions = {}): SetBatch {
  const padded = padSets(sets, options);
  const { batchSize, maxSize, dim } = padded;
  return {
    x: tensor3d(padded.values, [batchSize, maxSize, dim]),
    mask: tensor2d(padded.mask, [batchSize, maxSize]),
  };
}
