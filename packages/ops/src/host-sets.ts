// Sets on the host ↔ a padded batch on the device: `padSets`/`toSetBatch` pad host sets
// (prefix layout: row i < n is an element), `toHostSets` reads the valid rows back.
import { type Tensor2D, type Tensor3D, tensor2d, tensor3d } from '@tensorflow/tfjs-core';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { asSetBatch, checkHostSet, type HostSet, type SetLike } from './set-batch.js';

/** Sets padded on the host: `values [B·N·D]` with `padValue` at padding, prefix `mask [B·N]`. */
export interface PaddedSets {
  values: Float32Array;
  mask: Float32Array;
  sizes: number[];
  batchSize: number;
  maxSize: number;
  dim: number;
}

export interface PadOptions {
  /** Padded size N. Default: the largest set. A larger set is a `ShapeError`. */
  maxSize?: number;
  /** Value written at padded positions. Default 0 (padding never changes a result: tests put junk there). */
  padValue?: number;
}

/**
 * Pads sets to a common size on the host (prefix layout: element i < n is valid). Throws
 * `ShapeError` if dimensions differ or a set exceeds `maxSize`, `DataError` for an empty
 * list, empty sets or non-finite values.
 */
export function padSets(sets: readonly HostSet[], options: PadOptions = {}): PaddedSets {
  if (!Array.isArray(sets) || sets.length === 0) {
    throw new DataError(
      `sets: expected a non-empty HostSet[], got ${Array.isArray(sets) ? 'an empty array' : typeof sets}`,
    );
  }
  if (options === null || typeof options !== 'object')
    throw new ConfigError('options: expected { maxSize?, padValue? }');
  for (const key of Object.keys(options)) {
    if (key !== 'maxSize' && key !== 'padValue')
      throw new ConfigError(`options.${key}: unknown option (expected maxSize, padValue)`);
  }
  const { maxSize: requested, padValue = 0 } = options;
  if (typeof padValue !== 'number')
    throw new ConfigError(`options.padValue: expected a number, got ${JSON.stringify(padValue)}`);
  sets.forEach((set, i) => {
    checkHostSet(set, `sets[${i}]`);
  });
  const dim = sets[0].d;
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 0)) {
    throw new ConfigError(`options.maxSize: expected an integer >= 0, got ${JSON.stringify(requested)}`);
  }
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
 * is an element, as everywhere in ops). No mask: every row. Reads the tensors synchronously.
 */
export function toHostSets(batch: SetLike): HostSet[] {
  const { x, mask } = asSetBatch(batch, 'batch');
  const [b, n, d] = x.shape;
  const values = x.dataSync();
  const valid = mask?.dataSync();
  return Array.from({ length: b }, (_, s) => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (!valid || valid[s * n + i] > 0.5) rows.push(i);
    const out = new Float32Array(rows.length * d);
    rows.forEach((row, k) => {
      out.set(values.subarray((s * n + row) * d, (s * n + row + 1) * d), k * d);
    });
    return { values: out, n: rows.length, d };
  });
}
