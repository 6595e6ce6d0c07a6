/**
 * Earth mover's distance between two equal-size point sets on the host:
 *   EMD(a, b) = min_π Σ_i ‖a_i − b_π(i)‖₂   over permutations π
 * with the Euclidean (not squared) ground distance, as in PointFlow's metrics (REFERENCES.md
 * §3.2). `pointReduction: 'mean'` divides by n (PointFlow's "EMD"); `'sum'` is SetVAE's
 * `emd_loss` normalisation. PointFlow and SetVAE actually report the CUDA `approxmatch`
 * heuristic, an upper bound 11–23 % above this exact value (§3.3); the default here is exact.
 */
import { auctionAssignment, auctionStart } from './emd-auction.js';
import { sparseExactEmd, sparseExactEmdBelow } from './emd-exact-sparse.js';
import { sinkhornTransportCost } from './emd-sinkhorn.js';
import { DataError, ShapeError } from './errors.js';
import { solveAssignment } from './linear-sum-assignment.js';
import { POINT_REDUCTIONS } from './pair-cost.js';
import { checkHostSet, type HostSet } from './set-batch.js';
import { checkNumber, checkOptions, is } from './validate.js';

/** Options of {@link earthMoversDistance}. */
export interface EarthMoversDistanceOptions {
  /**
   * - `'exact'` (default): optimal assignment by shortest augmenting paths in float64
   *   (the same total as scipy's `linear_sum_assignment`), warm-started from the auction's
   *   prices at ε = 1e-4 · max distance (feasible duals, its tight pairs kept), which leaves
   *   only short augmenting paths: exact, and 3–7× faster than from scratch. Worst case:
   *   many nearly (not exactly) coincident points, O(n³) as in scipy.
   * - `'auction'`: Bertsekas auction with ε-scaling down to ε = 1e-6 · max ‖a_i − b_j‖; the
   *   sum is within n·ε of the exact one (the mean within ε), so essentially exact. About as
   *   fast as `'exact'` on ordinary clouds, and much faster where `'exact'` hits its worst case.
   * - `'sinkhorn'`: entropic approximation (uniform weights) with ε = 1e-3 · max ‖a_i − b_j‖:
   *   stabilised scaling iterations with ε-scaling, stopped at a row-marginal L1 error of
   *   1e-3 (≤ 1000 iterations at the final ε), then the plan is rounded onto the exact
   *   marginals (Altschuler et al. 2017) and ⟨P̂, C⟩ returned. P̂ is feasible, so the result is
   *   an upper bound: exact ≤ sinkhorn ≤ exact + ε·log n + 2δ·max C for the mean, δ the
   *   marginal error reached (≤ 1e-3 unless the iteration cap comes first). On the fixtures
   *   it is 0.01–0.4 % above exact; it is slower than `'auction'` and only an approximation.
   */
  method?: 'exact' | 'auction' | 'sinkhorn';
  /** `'mean'` (default) divides the matched total by n; `'sum'` keeps the total. */
  pointReduction?: 'mean' | 'sum';
}

/** Final ε of the auction, relative to the largest pairwise distance. */
export const AUCTION_RELATIVE_EPSILON = 1e-6;
/** Final ε of the auction that warm-starts the exact method, relative to the largest distance. */
const WARM_START_RELATIVE_EPSILON = 1e-4;
/** ε of the Sinkhorn method, relative to the largest pairwise distance. */
export const SINKHORN_RELATIVE_EPSILON = 1e-3;
/** Row-marginal L1 error (total mass 1) at which the Sinkhorn iterations stop. */
export const SINKHORN_TOLERANCE = 1e-3;
/** Upper bound on the Sinkhorn iterations at the final ε. */
const SINKHORN_MAX_ITERATIONS = 1000;

const METHODS = ['exact', 'auction', 'sinkhorn'] as const;

/** Earth mover's distance Σ_i ‖a_i − b_π(i)‖ (or its mean over i); requires n_a = n_b. */
export function earthMoversDistance(
  a: HostSet,
  b: HostSet,
  options: EarthMoversDistanceOptions = {},
): number {
  const opts = checkOptions(
    options,
    { method: is.oneOf(METHODS), pointReduction: is.oneOf(POINT_REDUCTIONS) },
    'earthMoversDistance options',
  );
  const method = opts.method ?? 'exact';
  const pointReduction = opts.pointReduction ?? 'mean';
  checkEqualSizes(a, b, 'earthMoversDistance');
  const n = a.n;
  if (method === 'exact' && n >= SPARSE_MIN_POINTS) {
    const diameter = boundingDiameter(a, b);
    if (diameter === 0) return 0;
    if (Number.isFinite(diameter)) {
      const total = sparseExactEmd(a, b, WARM_START_RELATIVE_EPSILON * diameter);
      if (total !== null) return pointReduction === 'mean' ? total / n : total;
    }
  }
  const { cost, maxCost } = euclideanCostMatrix(a, b);
  if (!Number.isFinite(maxCost)) {
    throw new DataError(
      'earthMoversDistance: a distance between a and b overflows float64; rescale the coordinates',
    );
  }
  let total: number;
  if (maxCost === 0) {
    total = 0; // every pair coincides
  } else if (method === 'sinkhorn') {
    const epsilon = SINKHORN_RELATIVE_EPSILON * maxCost;
    total =
      n *
      sinkhornTransportCost(cost, n, n, {
        epsilon,
        maxIterations: SINKHORN_MAX_ITERATIONS,
        tolerance: SINKHORN_TOLERANCE,
      });
  } else {
    const colForRow =
      method === 'exact'
        ? solveAssignment(cost, n, n, auctionStart(cost, n, WARM_START_RELATIVE_EPSILON * maxCost))
        : auctionAssignment(cost, n, AUCTION_RELATIVE_EPSILON * maxCost);
    total = 0;
    for (let i = 0; i < n; i++) total += cost[i * n + colForRow[i]];
  }
  return pointReduction === 'mean' ? total / n : total;
}

/** Two host sets of one dimension and one size, or `DataError` / `ShapeError` naming `caller`. */
function checkEqualSizes(a: HostSet, b: HostSet, caller: string): void {
  checkHostSet(a, `${caller}: a`);
  checkHostSet(b, `${caller}: b`);
  if (b.d !== a.d) {
    throw new ShapeError(`${caller}: b must have the dimension of a, d = ${a.d}, received b.d = ${b.d}`);
  }
  if (b.n !== a.n) {
    throw new ShapeError(
      `${caller}: b must have as many points as a, n = ${a.n}, received b.n = ${b.n} (EMD needs equal sizes)`,
    );
  }
}

/** The exact EMD (`exact: true`), or a lower bound of it that exceeds the cutoff (`exact: false`). */
export interface EmdBelowCutoff {
  value: number;
  exact: boolean;
}

/**
 * The exact EMD of {@link earthMoversDistance} (`method: 'exact'`), except that the solver may
 * stop as soon as it proves the EMD larger than `cutoff` (same units as `pointReduction`): then
 * `{ value: a lower bound > cutoff, exact: false }`. The proof is the dual objective of the
 * auction's prices over all pairs (emd-exact-sparse.ts), checked after each ε-phase, so an EMD
 * equal to the cutoff (a tie) is always returned exactly. Nearest-neighbour searches over
 * clouds (the PointFlow metrics) pass the best value found so far. Below 256 points (the dense
 * solver) the value is always exact.
 */
export function exactEmdBelowCutoff(
  a: HostSet,
  b: HostSet,
  cutoff: number,
  options: { pointReduction?: 'mean' | 'sum' } = {},
): EmdBelowCutoff {
  const opts = checkOptions(
    options,
    { pointReduction: is.oneOf(POINT_REDUCTIONS) },
    'exactEmdBelowCutoff options',
  );
  checkNumber(cutoff, 'exactEmdBelowCutoff: cutoff', { infinite: true });
  checkEqualSizes(a, b, 'exactEmdBelowCutoff');
  const pointReduction = opts.pointReduction ?? 'mean';
  const n = a.n;
  const scale = pointReduction === 'mean' ? n : 1;
  if (n >= SPARSE_MIN_POINTS && cutoff < Number.POSITIVE_INFINITY) {
    const diameter = boundingDiameter(a, b);
    if (diameter > 0 && Number.isFinite(diameter)) {
      const outcome = sparseExactEmdBelow(a, b, WARM_START_RELATIVE_EPSILON * diameter, cutoff * scale);
      if (outcome !== null) {
        return outcome.exact
          ? { value: outcome.total / scale, exact: true }
          : { value: outcome.lowerBound / scale, exact: false };
      }
    }
  }
  return { value: earthMoversDistance(a, b, { method: 'exact', pointReduction }), exact: true };
}

/**
 * From this many points on, 'exact' solves on nearest-neighbour candidates and certifies the
 * result with the duals on all pairs (emd-exact-sparse.ts), falling back to the dense solver.
 */
const SPARSE_MIN_POINTS = 256;

/**
 * The diagonal of the box holding all the sets (of one dimension): an upper bound of every
 * distance between their points.
 */
export function boundingDiameter(...sets: readonly HostSet[]): number {
  const d = sets[0].d;
  const low = new Float64Array(d).fill(Number.POSITIVE_INFINITY);
  const high = new Float64Array(d).fill(Number.NEGATIVE_INFINITY);
  for (const { values } of sets) {
    for (let k = 0; k < values.length; k++) {
      const c = k % d;
      if (values[k] < low[c]) low[c] = values[k];
      if (values[k] > high[c]) high[c] = values[k];
    }
  }
  let squared = 0;
  for (let c = 0; c < d; c++) squared += (high[c] - low[c]) ** 2;
  return Math.sqrt(squared);
}

/** The row-major `[n_a, n_b]` matrix of ‖a_i − b_j‖₂ in float64, and its largest entry. */
function euclideanCostMatrix(a: HostSet, b: HostSet): { cost: Float64Array; maxCost: number } {
  const { n: na, d } = a;
  const nb = b.n;
  const x = a.values;
  const y = b.values;
  const cost = new Float64Array(na * nb);
  let maxCost = 0;
  for (let i = 0; i < na; i++) {
    const xi = i * d;
    const row = i * nb;
    for (let j = 0; j < nb; j++) {
      const yj = j * d;
      let squared = 0;
      for (let k = 0; k < d; k++) {
        const delta = x[xi + k] - y[yj + k];
        squared += delta * delta;
      }
      const distance = Math.sqrt(squared);
      cost[row + j] = distance;
      if (distance > maxCost) maxCost = distance;
    }
  }
  return { cost, maxCost };
}
