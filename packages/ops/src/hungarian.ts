// Hungarian matching between sets and the assignment loss built on it (DSPN §4.4, Top-n W
// loss §7.4, FSPool AE). The assignment is solved on the host from detached costs — it is a
// discrete choice with zero gradient — and the loss is the sum of the matched pairs' costs,
// gathered as tensors, so the gradient is that of the matched costs with the matching held fixed.
import { reshape, type Tensor, type Tensor2D, tidy } from '@tensorflow/tfjs-core';
import { linearSumAssignment } from './linear-sum-assignment.js';
import {
  hostPairCost,
  PAIR_COSTS,
  type PairCost,
  POINT_REDUCTIONS,
  type PointReduction,
  weightedPairCostSum,
} from './pair-cost.js';
import { checkPairedSets } from './pairwise-distances.js';
import { type HostSetBatch, readSetBatch } from './read-set-batch.js';
import { reduceBatch } from './reduce-batch.js';
import { asSetBatch, REDUCTIONS, type Reduction, type SetLike } from './set-batch.js';
import { checkOptions, is } from './validate.js';

/** Options of {@link hungarianMatching}. */
export interface HungarianMatchingOptions {
  /** Cost the assignment minimises; default 'sqeuclidean' (see {@link PairCost}). */
  pairCost?: PairCost;
}

/** Options of {@link hungarianLoss}. */
export interface HungarianLossOptions extends HungarianMatchingOptions {
  /** Over the matched pairs of each set: 'mean' (default; divides by min(n, m)) or 'sum'. */
  pointReduction?: PointReduction;
  /** Over the batch; default 'mean' (Top-n sums: 'sum'). 'none' returns `[B]`. */
  reduction?: Reduction;
}

/**
 * For each set, the partner (an index into b's padded layout) of each valid element of a, in
 * the order of their positions; -1 when a has more valid elements than b and it is unmatched.
 */
function solveAssignments(a: HostSetBatch, b: HostSetBatch, pairCost: PairCost): Int32Array[] {
  const cost = hostPairCost(pairCost);
  const { d } = a;
  return a.valid.map((rowsA, s) => {
    const rowsB = b.valid[s];
    const n = rowsA.length;
    const m = rowsB.length;
    const matrix = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        matrix[i * m + j] = cost(a.values, s * a.n + rowsA[i], b.values, s * b.n + rowsB[j], d);
      }
    }
    const { rowIndices, colIndices } = linearSumAssignment(matrix, { rows: n, cols: m });
    const partner = new Int32Array(n).fill(-1);
    rowIndices.forEach((i, k) => {
      partner[i] = rowsB[colIndices[k]];
    });
    return partner;
  });
}

const MATCHING_OPTIONS = { pairCost: is.oneOf(PAIR_COSTS) };
const LOSS_OPTIONS = {
  ...MATCHING_OPTIONS,
  pointReduction: is.oneOf(POINT_REDUCTIONS),
  reduction: is.oneOf(REDUCTIONS),
};

function readPair(a: SetLike, b: SetLike, aName: string, bName: string) {
  const setA = asSetBatch(a, aName);
  const setB = asSetBatch(b, bName);
  checkPairedSets(setA.x.shape, setB.x.shape, aName, bName);
  return { setA, setB };
}

/**
 * Optimal one-to-one matching per set (minimum total `pairCost`, exact, as scipy's
 * linear_sum_assignment). Returns one `Int32Array` per batch element with one entry per VALID
 * element of `a` (in order of position): the index of its partner in `b` (position in b's
 * padded layout), or -1 if `a` has more valid elements than `b` and this one is left over.
 * With ties, one optimal matching is returned.
 */
export function hungarianMatching(
  a: SetLike,
  b: SetLike,
  options: HungarianMatchingOptions = {},
): Int32Array[] {
  const { setA, setB } = readPair(a, b, 'a', 'b');
  const pairCost =
    checkOptions(options, MATCHING_OPTIONS, 'hungarianMatching options').pairCost ?? 'sqeuclidean';
  return solveAssignments(readSetBatch(setA, 'a'), readSetBatch(setB, 'b'), pairCost);
}

/**
 * Assignment loss: per set, the mean (or sum) of `pairCost` over the min(n, m) pairs of the
 * optimal matching, then `reduction` over the batch. Presets (the README's "Conventions"): Top-n's W loss =
 * `{ pairCost: 'euclidean', reduction: 'sum' }`; DSPN = `{ pairCost: 'huber' }`.
 */
export function hungarianLoss(pred: SetLike, target: SetLike, options: HungarianLossOptions = {}): Tensor {
  const { setA, setB } = readPair(pred, target, 'pred', 'target');
  const opts = checkOptions(options, LOSS_OPTIONS, 'hungarianLoss options');
  const pairCost = opts.pairCost ?? 'sqeuclidean';
  const pointReduction = opts.pointReduction ?? 'mean';
  const reduction = opts.reduction ?? 'mean';
  const hostA = readSetBatch(setA, 'pred');
  const hostB = readSetBatch(setB, 'target');
  const partners = solveAssignments(hostA, hostB, pairCost);

  // One slot per position of pred; unmatched and padded slots get weight 0 and a valid pair.
  const [batch, n, d] = setA.x.shape;
  const m = setB.x.shape[1];
  const aRows = new Int32Array(batch * n);
  const bRows = new Int32Array(batch * n);
  const weights = new Float32Array(batch * n);
  partners.forEach((partner, s) => {
    const validA = hostA.valid[s];
    const pairs = Math.min(validA.length, hostB.valid[s].length);
    const w = pointReduction === 'mean' ? 1 / pairs : 1;
    aRows.fill(s * n + validA[0], s * n, (s + 1) * n);
    bRows.fill(s * m + hostB.valid[s][0], s * n, (s + 1) * n);
    validA.forEach((i, k) => {
      if (partner[k] < 0) return;
      aRows[s * n + i] = s * n + i;
      bRows[s * n + i] = s * m + partner[k];
      weights[s * n + i] = w;
    });
  });
  return tidy(() => {
    const x = reshape(setA.x, [batch * n, d]) as Tensor2D;
    const y = reshape(setB.x, [batch * m, d]) as Tensor2D;
    return reduceBatch(weightedPairCostSum(x, y, aRows, bRows, weights, batch, pairCost), reduction);
  });
}
