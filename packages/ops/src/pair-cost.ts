// The cost c(a_i, b_j) between two set elements, shared by Chamfer and Hungarian losses:
// on the host (to choose neighbours / assignments from detached values) and as a
// differentiable tensor op on gathered pairs (to carry the gradient).
import {
  abs,
  add,
  customGrad,
  div,
  expandDims,
  type GradSaveFunc,
  maximum,
  mean,
  mul,
  relu,
  reshape,
  scalar,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  tensor2d,
  tidy,
} from '@tensorflow/tfjs-core';
import { gatherRows } from './linalg.js';
import { saveShared } from './shared-clones.js';
import { checkChoice } from './validate.js';

/**
 * Cost between two elements, per the conventions of the reference codes (the README's "Conventions"):
 * - `'sqeuclidean'` = Σ_c Δ_c²  (SetVAE, PointFlow)
 * - `'euclidean'`   = sqrt(Σ_c Δ_c²)  (Top-n; PointFlow's exact EMD)
 * - `'huber'`       = (1/C) Σ_c Huber_1(Δ_c), Huber_1(t) = ½t² if |t| < 1 else |t| − ½  (DSPN §4.4)
 */
export type PairCost = 'sqeuclidean' | 'euclidean' | 'huber';

/** Pair reduction within a set: 'mean' divides by the number of valid points (or matched pairs). */
export type PointReduction = 'mean' | 'sum';

export const PAIR_COSTS: readonly PairCost[] = ['sqeuclidean', 'euclidean', 'huber'];
export const POINT_REDUCTIONS: readonly PointReduction[] = ['mean', 'sum'];

/** Checks a `pairCost` option. */
export function checkPairCost(value: unknown, name = 'pairCost'): PairCost {
  return checkChoice(value, name, PAIR_COSTS);
}

/** Checks a `pointReduction` option. */
export function checkPointReduction(value: unknown, name = 'pointReduction'): PointReduction {
  return checkChoice(value, name, POINT_REDUCTIONS);
}

/** Host cost between row `i` of `a` and row `j` of `b` (both row-major with `d` features). */
export type HostPairCost = (
  a: ArrayLike<number>,
  i: number,
  b: ArrayLike<number>,
  j: number,
  d: number,
) => number;

function hostSquaredEuclidean(
  a: ArrayLike<number>,
  i: number,
  b: ArrayLike<number>,
  j: number,
  d: number,
): number {
  let s = 0;
  for (let k = 0, p = i * d, q = j * d; k < d; k++) {
    const t = a[p + k] - b[q + k];
    s += t * t;
  }
  return s;
}

function hostEuclidean(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  return Math.sqrt(hostSquaredEuclidean(a, i, b, j, d));
}

function hostHuber(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  for (let k = 0, p = i * d, q = j * d; k < d; k++) {
    const t = Math.abs(a[p + k] - b[q + k]);
    s += t < 1 ? 0.5 * t * t : t - 0.5;
  }
  return s / d;
}

/** The host (float64) implementation of a pair cost. */
export function hostPairCost(cost: PairCost): HostPairCost {
  return cost === 'sqeuclidean' ? hostSquaredEuclidean : cost === 'euclidean' ? hostEuclidean : hostHuber;
}

/**
 * ‖Δ‖ over the last axis of `[K, D]`, with gradient Δ/‖Δ‖ and 0 where Δ = 0 (a subgradient),
 * so coincident points never give NaN (plain `sqrt` would: d sqrt(x)/dx = ∞ at 0).
 */
const euclideanNorm = customGrad((...inputs: (Tensor | GradSaveFunc)[]) => {
  const [delta, save] = inputs as [Tensor, GradSaveFunc];
  const norm = sqrt(sum(square(delta), 1));
  saveShared(save, [delta, norm]);
  return {
    value: norm,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [d, n] = saved;
      const safe = maximum(n, scalar(1e-30));
      return [mul(d, expandDims(div(dy, safe), 1))];
    },
  };
});

/** Differentiable cost of paired rows: `a [K, D]`, `b [K, D]` → `[K]`. */
export function pairCostRows(a: Tensor2D, b: Tensor2D, cost: PairCost): Tensor1D {
  return tidy(() => {
    const delta = sub(a, b);
    if (cost === 'sqeuclidean') return sum(square(delta), 1);
    if (cost === 'euclidean') return euclideanNorm(delta) as Tensor1D;
    // Huber_1 without branches: with e = relu(|t| − 1) and q = |t| − e = min(|t|, 1),
    // Huber_1(t) = ½q² + e. Written with relu/abs only (their gradients are step functions,
    // which have gradients), so it can be differentiated twice (DSPN's inner loop).
    const t = abs(delta);
    const excess = relu(sub(t, 1));
    const q = sub(t, excess);
    return mean(add(mul(square(q), 0.5), excess), 1);
  });
}

/**
 * Σ over slots of `weights[b, s] · c(x[aRows[b,s]], y[bRows[b,s]])` → `[B]`, where `x` and `y`
 * are flattened sets (`[B·N, D]`, `[B·M, D]`) and the row indices address them. Unused slots
 * carry weight 0 and must still point at finite rows. Gradients reach `x` and `y` through the
 * gathers only, so the discrete choice of pairs (made on the host) is held fixed.
 */
export function weightedPairCostSum(
  x: Tensor2D,
  y: Tensor2D,
  aRows: Int32Array,
  bRows: Int32Array,
  weights: Float32Array,
  batch: number,
  cost: PairCost,
): Tensor1D {
  return tidy(() => {
    const costs = pairCostRows(gatherRows(x, aRows), gatherRows(y, bRows), cost);
    const slots = weights.length / batch;
    return sum(mul(reshape(costs, [batch, slots]), tensor2d(weights, [batch, slots])), 1) as Tensor1D;
  });
}
