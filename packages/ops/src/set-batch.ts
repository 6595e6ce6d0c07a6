import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { DataError, formatShape, ShapeError } from './errors.js';
import { checkChoice, checkFloat32, isTensor } from './validate.js';

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

/**
 * Normalises a `SetLike` argument and checks it; `name` is used in error messages. Throws
 * `ShapeError` for shapes and `DataError` for an x that is not float32, before any tensor work.
 */
export function asSetBatch(value: SetLike, name: string): SetBatch {
  const batch: SetBatch = isTensor(value) ? { x: value as Tensor3D } : (value as SetBatch);
  if (!batch || !isTensor(batch.x)) {
    throw new ShapeError(`${name}: expected a Tensor3D [B,N,D] or { x: Tensor3D, mask?: Tensor2D }`);
  }
  if (batch.x.rank !== 3) {
    throw new ShapeError(`${name}: expected x of shape [B,N,D], got ${formatShape(batch.x.shape)}`);
  }
  checkFloat32(batch.x, isTensor(value) ? name : `${name}.x`);
  const [b, n] = batch.x.shape;
  if (batch.mask !== undefined && batch.mask !== null) {
    const m: unknown = batch.mask;
    if (!isTensor(m) || m.rank !== 2 || m.shape[0] !== b || m.shape[1] !== n) {
      throw new ShapeError(
        `${name}.mask: expected shape ${formatShape([b, n])} to match x ${formatShape(batch.x.shape)}, got ${
          isTensor(m) ? formatShape(m.shape) : typeof m
        }`,
      );
    }
  }
  return batch;
}

export const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];

/** Checks a reduction option. */
export function checkReduction(reduction: unknown, name = 'reduction'): Reduction {
  return checkChoice(reduction, name, REDUCTIONS);
}

/** What {@link checkHostSet} accepts besides the layout. */
export interface HostSetChecks {
  /** Allow n = 0; default false (an empty set is a `DataError`). */
  allowEmpty?: boolean;
  /** Require finite values; default true (NaN/Infinity are a `DataError`). */
  finite?: boolean;
}

/**
 * Checks a `HostSet` (typed values of length n·d, d ≥ 1; n ≥ 1 and all values finite unless
 * told otherwise); `name` is used in error messages. Throws `ShapeError` for the layout,
 * `DataError` for an empty set and NaN/Infinity. Returns the set.
 */
export function checkHostSet(set: HostSet, name: string, checks: HostSetChecks = {}): HostSet {
  const { allowEmpty = false, finite = true } = checks;
  if (!set || !(set.values instanceof Float32Array || set.values instanceof Float64Array)) {
    const got =
      set && typeof set === 'object' && 'values' in set
        ? `values of type ${(set.values as object)?.constructor?.name ?? typeof set.values}`
        : String(set);
    throw new ShapeError(
      `${name}: expected a HostSet { values: Float32Array | Float64Array, n, d }, got ${got}`,
    );
  }
  const { values, n, d } = set;
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 0 || d < 1) {
    throw new ShapeError(`${name}: expected a HostSet with integer n ≥ 0 and d ≥ 1, got n = ${n}, d = ${d}`);
  }
  if (values.length !== n * d) {
    throw new ShapeError(
      `${name}: expected a HostSet with values of length n·d = ${n}·${d}, got values.length=${values.length}`,
    );
  }
  if (n === 0 && !allowEmpty) throw new DataError(`${name}: expected at least one point, got n = 0`);
  if (!finite) return set;
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) {
      throw new DataError(
        `${name}: expected finite values, got ${values[k]} at point ${Math.floor(k / d)}, coordinate ${k % d}`,
      );
    }
  }
  return set;
}
