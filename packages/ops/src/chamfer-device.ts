// Chamfer distance with its nearest neighbours chosen on the device: argmin over the [B, N, M]
// cost matrix instead of a read-back to the host. On webgl/webgpu a read-back waits for the
// device in the middle of the forward pass (and goes through a canvas on webgpu); this path
// keeps the whole step on the device, at O(B·N·M) memory and work. The loss is the same sum
// of gathered pair costs as the host path, so values and gradients agree (ties: lowest index).
import {
  abs,
  add,
  argMin,
  cast,
  concat,
  customGrad,
  div,
  expandDims,
  fill,
  type GradSaveFunc,
  greater,
  maximum,
  mean,
  minimum,
  mul,
  ones,
  range,
  reshape,
  slice,
  sub,
  sum,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  tidy,
  where,
  zerosLike,
} from '@tensorflow/tfjs-core';
import { gatherRowsOnDevice } from './linalg.js';
import { type PairCost, type PointReduction, pairCostRows } from './pair-cost.js';
import { pairwiseSquaredDistances } from './pairwise-distances.js';
import type { SetBatch } from './set-batch.js';
import { zeroPadding } from './zero-padding.js';

/** Every pair's cost `[B, N, M]` (sqrt is monotone: 'euclidean' ranks as 'sqeuclidean'). */
function costMatrix(a: Tensor3D, b: Tensor3D, cost: PairCost): Tensor3D {
  if (cost !== 'huber') return pairwiseSquaredDistances(a, b);
  // Huber_1 per coordinate, averaged (pair-cost.ts): ½q² + (|t| − q) with q = min(|t|, 1)
  const t = abs(sub(expandDims(a, 2), expandDims(b, 1))); // [B, N, M, D]
  const q = minimum(t, 1);
  return mean(add(mul(mul(q, q), 0.5), sub(t, q)), 3) as Tensor3D;
}

/**
 * Index of each row's nearest valid column and of each column's nearest valid row, as one
 * float32 `[B, N + M]` (exact below 2^24). A discrete choice: its gradient is declared zero,
 * so the tape never differentiates the cost matrix.
 */
function nearest(a: Tensor3D, b: Tensor3D, validA: Tensor2D, validB: Tensor2D, cost: PairCost): Tensor2D {
  const choose = customGrad(((x: Tensor3D, y: Tensor3D, save: GradSaveFunc) => {
    save([]);
    const costs = costMatrix(x, y, cost);
    const never = fill(costs.shape, Number.POSITIVE_INFINITY);
    const ab = argMin(where(expandDims(validB, 1), costs, never), 2); // padded columns never chosen
    const ba = argMin(where(expandDims(validA, 2), costs, never), 1);
    return {
      value: cast(concat([ab, ba], 1), 'float32'),
      gradFunc: () => [zerosLike(x), zerosLike(y)],
    };
  }) as unknown as Parameters<typeof customGrad>[0]);
  return choose(a, b) as Tensor2D;
}

/** Rows `idx [B, K]` (local to each set) of `x [B, R, D]` → `[B·K, D]`. */
function gatherLocal(x: Tensor3D, idx: Tensor2D): Tensor2D {
  const [batch, rows, d] = x.shape;
  const offsets = expandDims(range(0, batch * rows, rows, 'int32'), 1); // first row of each set
  return gatherRowsOnDevice(
    reshape(x, [batch * rows, d]) as Tensor2D,
    reshape(add(idx, offsets), [-1]) as Tensor1D,
  );
}

/** `R_i c(x_i, y_idx(i))` per set over the valid rows of x (R = sum, or mean over them). */
function direction(
  x: Tensor3D,
  y: Tensor3D,
  idx: Tensor2D,
  valid: Tensor2D,
  cost: PairCost,
  reduction: PointReduction,
) {
  const [batch, n, d] = x.shape;
  const costs = reshape(pairCostRows(reshape(x, [batch * n, d]) as Tensor2D, gatherLocal(y, idx), cost), [
    batch,
    n,
  ]);
  const total = sum(where(valid, costs, zerosLike(costs)), 1);
  return reduction === 'sum' ? total : div(total, maximum(sum(cast(valid, 'float32'), 1), 1));
}

/**
 * Per set `[B]`: `R_i c(a_i, NN_b(a_i)) + R_j c(NN_a(b_j), b_j)` over valid points, R = mean or
 * sum, with the neighbours found on the device. Values are not checked on the host (that
 * would be a read-back): NaN in a valid element gives a NaN loss; padding never matters.
 */
export function chamferOnDevice(
  a: SetBatch,
  b: SetBatch,
  cost: PairCost,
  reduction: PointReduction,
): Tensor1D {
  return tidy(() => {
    const xa = a.mask ? zeroPadding(a.x, a.mask) : a.x;
    const xb = b.mask ? zeroPadding(b.x, b.mask) : b.x;
    const validOf = (set: SetBatch): Tensor2D =>
      set.mask ? greater(set.mask, 0.5) : cast(ones([set.x.shape[0], set.x.shape[1]]), 'bool');
    const validA = validOf(a);
    const validB = validOf(b);
    const n = a.x.shape[1];
    const indices = cast(nearest(xa, xb, validA, validB, cost), 'int32');
    const ab = slice(indices, [0, 0], [-1, n]) as Tensor2D;
    const ba = slice(indices, [0, n], [-1, -1]) as Tensor2D;
    const fromA = direction(xa, xb, ab, validA, cost, reduction);
    const fromB = direction(xb, xa, ba, validB, cost, reduction);
    return add(fromA, fromB) as Tensor1D;
  });
}
