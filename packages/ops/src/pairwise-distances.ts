import { add, expandDims, mul, relu, square, sub, sum, type Tensor3D, tidy } from '@tensorflow/tfjs-core';
import { formatShape, ShapeError } from './errors.js';
import { batchMatMul } from './linalg.js';

/** Checks that `a [B,N,D]` and `b [B,M,D]` are rank 3 with equal B and D; names them in errors. */
export function checkPairedSets(
  aShape: readonly number[],
  bShape: readonly number[],
  aName = 'a',
  bName = 'b',
): void {
  if (aShape.length !== 3)
    throw new ShapeError(`${aName}: expected shape [B,N,D], got ${formatShape(aShape)}`);
  if (bShape.length !== 3)
    throw new ShapeError(`${bName}: expected shape [B,M,D], got ${formatShape(bShape)}`);
  if (aShape[0] !== bShape[0]) {
    throw new ShapeError(
      `${bName}: expected batch size ${aShape[0]} to match ${aName} ${formatShape(aShape)}, got ${formatShape(bShape)}`,
    );
  }
  if (aShape[2] !== bShape[2]) {
    throw new ShapeError(
      `${bName}: expected ${aShape[2]} features to match ${aName} ${formatShape(aShape)}, got ${formatShape(bShape)}`,
    );
  }
}

/**
 * Squared Euclidean distances between every pair: `D[b,i,j] = ‖a[b,i] − b[b,j]‖²`, `[B,N,M]`.
 * Expanded as ‖a‖² + ‖b‖² − 2·a·bᵀ (one matmul per batch element, fast on wasm) and clamped
 * at 0, since rounding can make the expansion slightly negative for near-coincident points.
 */
export function pairwiseSquaredDistances(a: Tensor3D, b: Tensor3D): Tensor3D {
  checkPairedSets(a?.shape ?? [], b?.shape ?? []);
  return tidy(() => {
    const aa = sum(square(a), 2, true); // [B,N,1]
    const bb = expandDims(sum(square(b), 2), 1); // [B,1,M]
    const ab = batchMatMul(a, b, { transposeB: true }); // [B,N,M]
    return relu(sub(add(aa, bb), mul(ab, 2))) as Tensor3D;
  });
}
