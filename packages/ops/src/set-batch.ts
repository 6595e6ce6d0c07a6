import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { ConfigError, DataError, formatShape, ShapeError } from './errors.js';

/**
 * A batch of sets on the device: `x [B, N, D]` with `mask [B, N]` (1 = element,
 * 0 = padding). No mask means every row is an element.
 */
export interface SetBatch {
  x: Tensor3D;
  mask?: Tensor2D;
}

/** A set batch, or a bare `[B, N, D]` tensor (no padding). */
export type SetLike = SetBatch | Tensor3D;

/** Reduction over the batch axis: 'none' keeps `[B]`. */
export type Reduction = 'none' | 'mean' | 'sum';

/** A set on the host: row-major `values [n * d]`. */
export interface HostSet {
  values: Float32Array | Float64Array;
  n: number;
  d: number;
}

function isTensorLike(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'shape' in v && 'dtype' in v && 'dataId' in v;
}

/**
 * Normalises a `SetLike` argument and checks its shapes; `name` is used in error messages.
 * Throws `ShapeError` before any tensor work.
 */
export function asSetBatch(value: SetLike, name: string): SetBatch {
  const batch: SetBatch = isTensorLike(value) ? { x: value as Tensor3D } : (value as SetBatch);
  if (!batch || !isTensorLike(batch.x)) {
    throw new ShapeError(`${name}: expected a Tensor3D [B,N,D] or { x: Tensor3D, mask?: Tensor2D }`);
  }
  if (batch.x.rank !== 3) {
    throw new ShapeError(`${name}: expected x of shape [B,N,D], got ${formatShape(batch.x.shape)}`);
  }
  const [b, n] = batch.x.shape;
  if (batch.mask !== undefined && batch.mask !== null) {
    const m: unknown = batch.mask;
    if (!isTensorLike(m) || m.rank !== 2 || m.shape[0] !== b || m.shape[1] !== n) {
      throw new ShapeError(
        `${name}.mask: expected shape ${formatShape([b, n])} to match x ${formatShape(batch.x.shape)}, got ${
          isTensorLike(m) ? formatShape(m.shape) : typeof m
        }`,
      );
    }
  }
  return batch;
}

/** Checks a reduction option. */
export function checkReduction(reduction: string, name = 'reduction'): Reduction {
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum') {
    throw new ConfigError(`${name}: expected 'none' | 'mean' | 'sum', got ${JSON.stringify(reduction)}`);
  }
  return reduction;
}

/**
 * Checks a `HostSet` (typed values of length n·d, n ≥ 1, d ≥ 1, all finite); `name` is used in
 * error messages. Throws `ShapeError` for the layout, `DataError` for empty sets and NaN/Infinity.
 */
export function checkHostSet(set: HostSet, name: string): void {
  if (!set || !(set.values instanceof Float32Array || set.values instanceof Float64Array)) {
    throw new ShapeError(`${name}: expected a HostSet { values: Float32Array | Float64Array, n, d }`);
  }
  const { values, n, d } = set;
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 0 || d < 1) {
    throw new ShapeError(`${name}: expected integer n ≥ 0 and d ≥ 1, got n = ${n}, d = ${d}`);
  }
  if (values.length !== n * d) {
    throw new ShapeError(`${name}: expected values of length n·d = ${n}·${d}, got length ${values.length}`);
  }
  if (n === 0) throw new DataError(`${name}: expected at least one point, got n = 0`);
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) {
      throw new DataError(
        `${name}: expected finite values, got ${values[k]} at point ${Math.floor(k / d)}, coordinate ${k % d}`,
      );
    }
  }
}
