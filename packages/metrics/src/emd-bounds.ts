/**
 * Lower bounds of the exact EMD that rule out pairs without solving them (emd-pruning.ts).
 *
 * EMD(a, b) = W(a, b) = min_π (1/n) Σ_i ‖a_i − b_π(i)‖₂ — Euclidean ground cost, equal sizes,
 * mean over the points (our `earthMoversDistance`, `pointReduction: 'mean'`): the 1-Wasserstein
 * distance between the two clouds' uniform empirical measures. Each bound below holds for every
 * permutation π, hence for the optimal one:
 *
 * - **centroids**: ‖ā − b̄‖ = ‖(1/n) Σ_i (a_i − b_π(i))‖ ≤ (1/n) Σ_i ‖a_i − b_π(i)‖ (the norm's
 *   triangle inequality);
 * - **nearest neighbours**: ‖a_i − b_π(i)‖ ≥ min_j ‖a_i − b_j‖ for every i, so
 *   W(a, b) ≥ (1/n) Σ_i min_j ‖a_i − b_j‖, and the same from b's side: the one-sided Chamfer
 *   sums with Euclidean (not squared) distances, the CD kernel's k-d trees;
 * - **pivots**: W is a metric (on probability measures with the Euclidean ground metric), so
 *   for any third cloud p the triangle inequality gives W(a, b) ≥ |W(a, p) − W(b, p)|.
 *
 * Rounding: the exact solver certifies optimality up to 1e-12·(dual scale + 1) per pair and
 * sums in float64, so a bound computed in float64 could exceed the computed EMD by ~1e-12 of
 * the clouds' extent; every comparison gives the bound a slack (`boundSlack`, 1000× that).
 */
import type { HostSet } from '@setgen/ops';
import { boundingDiameter } from '@setgen/ops/internal';
import type { ChamferKernel, PointCloudIndex } from './chamfer-kernel.js';

/**
 * Writes `[EMD or NaN, bound, solver run (1) or not (0)]` at `out[at … at + 2]` for a pair whose EMD only matters
 * up to `cutoff`. With a finite cutoff the bound is first the larger one-sided mean
 * nearest-neighbour distance (≤ EMD; skipped when `nearestKnown`, the caller has it); when it
 * exceeds the cutoff the solver is not run (NaN). Otherwise `solve(cutoff)` runs the exact
 * solver, which may itself stop with a lower bound above the cutoff (its dual objective):
 * NaN and that bound. Self-contained: worker threads evaluate its source text.
 */
export function emdBelowCutoff(
  kernel: Pick<ChamferKernel, 'sumOfNearestDistances'>,
  a: PointCloudIndex,
  b: PointCloudIndex,
  cutoff: number,
  nearestKnown: boolean,
  solve: (cutoff: number) => { value: number; exact: boolean },
  out: Float64Array,
  at: number,
): void {
  let bound = 0;
  if (cutoff < Number.POSITIVE_INFINITY && !nearestKnown) {
    bound = kernel.sumOfNearestDistances(a, b) / a.n;
    if (bound <= cutoff) bound = Math.max(bound, kernel.sumOfNearestDistances(b, a) / b.n);
  }
  if (bound > cutoff) {
    out[at] = Number.NaN;
    out[at + 1] = bound;
    out[at + 2] = 0;
    return;
  }
  const { value, exact } = solve(cutoff);
  out[at] = exact ? value : Number.NaN;
  out[at + 1] = exact ? bound : Math.max(bound, value);
  out[at + 2] = 1;
}

/** Mean point of every cloud, `[clouds.length * d]`. */
export function centroids(clouds: readonly HostSet[]): Float64Array {
  const d = clouds[0].d;
  const out = new Float64Array(clouds.length * d);
  clouds.forEach(({ values, n }, k) => {
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) out[k * d + c] += values[i * d + c];
    for (let c = 0; c < d; c++) out[k * d + c] /= n;
  });
  return out;
}

/** ‖centroid a − centroid b‖ (≤ EMD(a, b)); `at` indexes clouds in a {@link centroids} array. */
export function centroidDistance(means: Float64Array, d: number, a: number, b: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += (means[a * d + c] - means[b * d + c]) ** 2;
  return Math.sqrt(s);
}

/**
 * The slack every bound is compared with: 1e-9 · (diameter of the box holding all clouds + 1),
 * far above the solver's certified 1e-12 and float64 rounding, far below any EMD that
 * separates two clouds.
 */
export function boundSlack(clouds: readonly HostSet[]): number {
  return 1e-9 * (boundingDiameter(...clouds) + 1);
}
