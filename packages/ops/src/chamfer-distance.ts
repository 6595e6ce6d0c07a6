// Chamfer distance between batches of sets (SetVAE Eq. 24; PointFlow's CD; DSPN; Top-n).
// The nearest neighbours are a discrete choice, made on the host from the detached
// coordinates; the loss is then the sum of gathered pair costs, so gradients flow through
// the two gathers only — exactly the (sub)gradient of the min. `neighbours: 'device'` makes the
// choice on the backend instead (chamfer-device.ts), without a read-back.
import { env, reshape, type Tensor, type Tensor2D, tidy } from '@tensorflow/tfjs-core';
import { chamferOnDevice } from './chamfer-device.js';
import { type NeighbourJob, neighbourJob, runNeighbourJob } from './chamfer-host.js';
import { ConfigError } from './errors.js';
import {
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

/** Options of {@link chamferDistance}. */
export interface ChamferOptions {
  /** Cost between two points; default 'sqeuclidean' (see {@link PairCost}). */
  pairCost?: PairCost;
  /**
   * Over the points of each direction: 'mean' (default; PointFlow metrics, DSPN, Top-n)
   * divides by the number of VALID points of that set; 'sum' (SetVAE training, Eq. 24).
   */
  pointReduction?: PointReduction;
  /** Over the batch; default 'mean'. 'none' returns `[B]`. */
  reduction?: Reduction;
  /**
   * Where the nearest neighbours are chosen (see {@link NeighbourSearch}); default the tfjs
   * flag `SETGEN_CHAMFER_NEIGHBOURS`, itself 'host' unless set.
   */
  neighbours?: NeighbourSearch;
}

/**
 * 'host' (default): read the sets back and search on the CPU (validates values: NaN in a valid
 * element is a DataError). 'device': argmin over the `[B, N, M]` cost matrix on the backend, no
 * read-back, O(B·N·M) memory, values not validated (NaN gives a NaN loss, an empty set 0).
 * Measured in Chromium on SwiftShader (README.md), the host search is faster on webgl and
 * webgpu too, so it stays the default; 'device' is for backends whose read-back is broken or
 * costlier than the argmin.
 */
export type NeighbourSearch = 'host' | 'device';
const NEIGHBOUR_SEARCHES: readonly NeighbourSearch[] = ['host', 'device'];
/** The tfjs flag holding the default of `neighbours`: `tf.env().set(CHAMFER_NEIGHBOURS_FLAG, 'device')`. */
export const CHAMFER_NEIGHBOURS_FLAG = 'SETGEN_CHAMFER_NEIGHBOURS';

const CHAMFER_OPTIONS = {
  pairCost: is.oneOf(PAIR_COSTS),
  pointReduction: is.oneOf(POINT_REDUCTIONS),
  reduction: is.oneOf(REDUCTIONS),
  neighbours: is.oneOf(NEIGHBOUR_SEARCHES),
};

// registered once per tfjs instance (a second copy of this module must not warn)
if (
  !(env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry?.[CHAMFER_NEIGHBOURS_FLAG]
) {
  env().registerFlag(CHAMFER_NEIGHBOURS_FLAG, () => 'host');
}

/** Whether this call searches on the device: the option, else the flag. */
function searchOnDevice(option: NeighbourSearch | undefined): boolean {
  let choice = option;
  if (choice === undefined) {
    choice = env().get(CHAMFER_NEIGHBOURS_FLAG) as NeighbourSearch;
    if (!NEIGHBOUR_SEARCHES.includes(choice)) {
      throw new ConfigError(
        `tf.env() flag ${CHAMFER_NEIGHBOURS_FLAG}: expected 'host' | 'device', got ${JSON.stringify(choice)}`,
      );
    }
  }
  return choice === 'device';
}

/** Sets one after another with their padding dropped, as the host kernel wants them. */
function packValid(sets: HostSetBatch): { values: Float32Array; start: Int32Array } {
  const { values, batch, n, d, valid } = sets;
  const start = new Int32Array(batch + 1);
  for (let s = 0; s < batch; s++) start[s + 1] = start[s] + valid[s].length;
  if (sets.dense) return { values, start };
  const packed = new Float32Array(start[batch] * d);
  for (let s = 0; s < batch; s++) {
    valid[s].forEach((i, k) => {
      packed.set(values.subarray((s * n + i) * d, (s * n + i + 1) * d), (start[s] + k) * d);
    });
  }
  return { values: packed, start };
}

/** Nearest neighbours both ways for every set of the batch (indices local to the valid rows). */
export function batchNearestNeighbours(a: HostSetBatch, b: HostSetBatch, pairCost: PairCost): NeighbourJob {
  const pa = packValid(a);
  const pb = packValid(b);
  // sqrt is monotone, so 'euclidean' has the same neighbours as 'sqeuclidean'.
  const job = neighbourJob(pa.values, pa.start, pb.values, pb.start, a.d, pairCost === 'huber');
  runNeighbourJob(job);
  return job;
}

/**
 * Chamfer distance: per set, `R_i c(a_i, NN_b(a_i)) + R_j c(NN_a(b_j), b_j)` with R = mean or
 * sum over valid points, then `reduction` over the batch. Padding (mask 0) is never a
 * neighbour and never counted. Presets (the README's "Conventions"): SetVAE training = `pointReduction: 'sum'`;
 * PointFlow CD = defaults; DSPN = `pairCost: 'huber'`; Top-n = `'euclidean'` then divide by 2.
 * Gradients are those of the chosen pairs' costs (ties: lowest index); 'euclidean' has a zero
 * gradient where two points coincide.
 */
export function chamferDistance(a: SetLike, b: SetLike, options: ChamferOptions = {}): Tensor {
  const setA = asSetBatch(a, 'a');
  const setB = asSetBatch(b, 'b');
  checkPairedSets(setA.x.shape, setB.x.shape);
  const opts = checkOptions(options, CHAMFER_OPTIONS, 'chamferDistance options');
  const pairCost = opts.pairCost ?? 'sqeuclidean';
  const pointReduction = opts.pointReduction ?? 'mean';
  const reduction = opts.reduction ?? 'mean';
  if (searchOnDevice(opts.neighbours)) {
    return tidy(() => reduceBatch(chamferOnDevice(setA, setB, pairCost, pointReduction), reduction));
  }
  const hostA = readSetBatch(setA, 'a');
  const hostB = readSetBatch(setB, 'b');
  const job = batchNearestNeighbours(hostA, hostB, pairCost);

  // One slot per position of a then of b: slot (s, i) pairs a_i with its neighbour in b,
  // slot (s, N + j) pairs b_j with its neighbour in a. Padded slots get weight 0 and point
  // at a valid pair, so junk padding never reaches a value or a gradient.
  const [batch, n, d] = setA.x.shape;
  const m = setB.x.shape[1];
  const slots = n + m;
  const aRows = new Int32Array(batch * slots);
  const bRows = new Int32Array(batch * slots);
  const weights = new Float32Array(batch * slots);
  for (let s = 0; s < batch; s++) {
    const validA = hostA.valid[s];
    const validB = hostB.valid[s];
    const base = s * slots;
    aRows.fill(s * n + validA[0], base, base + slots);
    bRows.fill(s * m + validB[0], base, base + slots);
    const wa = pointReduction === 'mean' ? 1 / validA.length : 1;
    const wb = pointReduction === 'mean' ? 1 / validB.length : 1;
    validA.forEach((i, k) => {
      aRows[base + i] = s * n + i;
      bRows[base + i] = s * m + validB[job.aArg[job.aStart[s] + k]];
      weights[base + i] = wa;
    });
    validB.forEach((j, k) => {
      aRows[base + n + j] = s * n + validA[job.bArg[job.bStart[s] + k]];
      bRows[base + n + j] = s * m + j;
      weights[base + n + j] = wb;
    });
  }
  return tidy(() => {
    const x = reshape(setA.x, [batch * n, d]) as Tensor2D;
    const y = reshape(setB.x, [batch * m, d]) as Tensor2D;
    return reduceBatch(weightedPairCostSum(x, y, aRows, bRows, weights, batch, pairCost), reduction);
  });
}
