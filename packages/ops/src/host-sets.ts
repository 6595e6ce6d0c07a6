// Sets on the host ↔ a padded batch on the device: `padSets`/`toSetBatch` pad host sets
// (prefix layout: row i < n is an element), `toHostSets` reads the valid rows back.
import { type Tensor2D, type Tensor3D, tensor2d, tensor3d } from '@tensorflow/tfjs-core';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { readSetBatch } from './read-set-batch.js';
import { asSetBatch, checkHostSet, type HostSet, type SetLike } from './set-batch.js';
import { checkOptions, describe, is } from './validate.js';

/** Sets padded on the host: `values [B·N·D]` with `padValue` at padding, prefix `mask [B·N]`. */
export interface PaddedSets {
  values: Float32Array;
  mask: Float32Array;
  sizes: number[];
  batchSize: number;
  maxSize: number;
  dim: number;
}

/** Options of `padSets` / `toSetBatch`. */
export interface PadOptions {
  /** Padded size N. Default: the largest set. A larger set is a `ShapeError`. */
  maxSize?: number;
  /** Value written at padded positions. Default 0 (padding never changes a result: tests put junk there). */
  padValue?: number;
}

/**
 * Pads sets to a common size on the host (prefix layout: element i < n is valid). Throws
 * `ShapeError` if dimensions differ or a set exceeds `maxSize`, `DataError` for an empty
 * list or non-finite values (an empty set becomes an all-padding row).
 */
export function padSets(sets: readonly HostSet[], options: PadOptions = {}): PaddedSets {
  if (!Array.isArray(sets) || sets.length === 0) {
    throw new DataError(
      `sets: expected a non-empty HostSet[], got ${Array.isArray(sets) ? 'an empty array' : typeof sets}`,
    );
  }
  const { maxSize: requested, padValue = 0 } = checkOptions(options, {
    maxSize: is.integer(0),
    // any number, NaN included: tests fill padding with junk to show it never matters
    padValue: (value, name) => {
      if (typeof value !== 'number')
        throw new ConfigError(`${name}: expected a number, got ${describe(value)}`);
      return value;
    },
  });
  sets.forEach((set, i) => {
    checkHostSet(set, `sets[${i}]`, { allowEmpty: true });
  });
  const dim = sets[0].d;
  const maxSize = requested ?? Math.max(...sets.map((s) => s.n));
  sets.forEach((set, i) => {
    if (set.d !== dim)
      throw new ShapeError(`sets[${i}]: expected dimension d=${dim} like sets[0], got d=${set.d}`);
    if (set.n > maxSize)
      throw new ShapeError(`sets[${i}]: has ${set.n} elements, more than maxSize=${maxSize}`);
  });
  const values = new Float32Array(sets.length * maxSize * dim).fill(padValue);
  const mask = new Float32Array(sets.length * maxSize);
  sets.forEach((set, b) => {
    values.set(set.values, b * maxSize * dim);
    mask.fill(1, b * maxSize, b * maxSize + set.n);
  });
  return { values, mask, sizes: sets.map((s) => s.n), batchSize: sets.length, maxSize, dim };
}

/**
 * Host sets → a `SetBatch` `{ x [B, N, D], mask [B, N] }` (prefix layout). The caller owns
 * (and disposes) both tensors.
 */
export function toSetBatch(
  sets: readonly HostSet[],
  options: PadOptions = {},
): { x: Tensor3D; mask: Tensor2D } {
  const { values, mask, batchSize, maxSize, dim } = padSets(sets, options);
  return { x: tensor3d(values, [batchSize, maxSize, dim]), mask: tensor2d(mask, [batchSize, maxSize]) };
}

/**
 * The valid rows of each set of a batch, copied to the host (any mask layout; `mask > 0.5`
 * is an element, as everywhere in ops). No mask: every row. Reads the tensors synchronously;
 * NaN/Inf at a valid element or a set without elements is a `DataError`.
 */
export function toHostSets(batch: SetLike): HostSet[] {
  const { values, n, d, valid } = readSetBatch(asSetBatch(batch, 'batch'), 'batch');
  return valid.map((rows, s) => {
    const out = new Float32Array(rows.length * d);
    rows.forEach((row, k) => {
      out.set(values.subarray((s * n + row) * d, (s * n + row + 1) * d), k * d);
    });
    return { values: out, n: rows.length, d };
  });
}
