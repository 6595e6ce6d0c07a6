// Nearest neighbours between point sets on the host, in plain typed-array loops: the
// discrete half of the Chamfer distance (DESIGN.md "Sets on the host"). Large sets are
// swept along a sorted axis with pruning; small ones take one pass over all pairs that
// finds both directions' minima at once.
import { ShapeError } from './errors.js';
import { POINT_REDUCTIONS, type PointReduction } from './pair-cost.js';
import { checkHostSet, type HostSet } from './set-batch.js';
import { checkOptions, is } from './validate.js';

/**
 * A batch of nearest-neighbour problems: sets `t = 0..T-1` of side A are rows
 * `aStart[t] .. aStart[t+1]-1` of `a` (row-major, `d` features), likewise for B.
 * Outputs per row of A: `aMin` (cost to the nearest row of the paired B set) and `aArg`
 * (its index within that set); per row of B: `bMin`, `bArg`.
 */
export interface NeighbourJob {
  d: number;
  /** Cost: false = squared Euclidean; true = DSPN's Huber, mean over features. */
  huber: boolean;
  a: Float32Array | Float64Array;
  b: Float32Array | Float64Array;
  aStart: Int32Array;
  bStart: Int32Array;
  aMin: Float64Array;
  aArg: Int32Array;
  bMin: Float64Array;
  bArg: Int32Array;
}

/**
 * Solves sets `first .. last-1` of a job. Self-contained (no outer references) so worker
 * threads can run it from its source text. Ties go to the lowest index; both strategies
 * below give bit-identical results.
 */
export function solveNeighbourTasks(job: NeighbourJob, first: number, last: number): void {
  const { d, huber, a, b, aStart, bStart, aMin, aArg, bMin, bArg } = job;

  /**
   * For each row of `q` (rows q0..q0+nq-1), its nearest row of `p` (rows p0..p0+np-1) under
   * the job's cost. `p` is sorted along its axis of largest spread; a query
   * scans outwards from its own position on that axis and stops on each side once the gap
   * along the axis alone exceeds the best distance so far (the rest can only be farther).
   */
  function nearestBySweep(
    q: ArrayLike<number>,
    q0: number,
    nq: number,
    p: ArrayLike<number>,
    p0: number,
    np: number,
    outMin: Float64Array,
    outArg: Int32Array,
  ): void {
    let axis = 0;
    let spread = -1;
    let axisLow = 0;
    for (let k = 0; k < d; k++) {
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < np; j++) {
        const v = p[(p0 + j) * d + k];
        if (v < low) low = v;
        if (v > high) high = v;
      }
      if (high - low > spread) {
        spread = high - low;
        axis = k;
        axisLow = low;
      }
    }
    // counting sort into np buckets along the axis, then insertion sort (nearly sorted: O(np))
    const count = new Int32Array(np + 1);
    const bucket = new Int32Array(np);
    const scale = spread > 0 ? (np - 1) / spread : 0;
    for (let j = 0; j < np; j++) {
      const k = Math.min(np - 1, Math.floor((p[(p0 + j) * d + axis] - axisLow) * scale));
      bucket[j] = k;
      count[k + 1]++;
    }
    for (let k = 0; k < np; k++) count[k + 1] += count[k];
    const order = new Int32Array(np);
    for (let j = 0; j < np; j++) order[count[bucket[j]]++] = j;
    const key = new Float64Array(np);
    for (let s = 0; s < np; s++) key[s] = p[(p0 + order[s]) * d + axis];
    for (let s = 1; s < np; s++) {
      const v = key[s];
      const o = order[s];
      let r = s - 1;
      while (r >= 0 && (key[r] > v || (key[r] === v && order[r] > o))) {
        key[r + 1] = key[r];
        order[r + 1] = order[r];
        r--;
      }
      key[r + 1] = v;
      order[r + 1] = o;
    }
    const sorted = new Float64Array(np * d);
    for (let s = 0; s < np; s++) {
      for (let k = 0; k < d; k++) sorted[s * d + k] = p[(p0 + order[s]) * d + k];
    }
    for (let i = 0; i < nq; i++) {
      const base = (q0 + i) * d;
      const qx = q[base + axis];
      let low = 0;
      let high = np;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (key[mid] < qx) low = mid + 1;
        else high = mid;
      }
      let best = Number.POSITIVE_INFINITY;
      let arg = -1;
      // upwards, then downwards; `e` is summed over features in order, as in the full scan
      for (let dir = 1; dir >= -1; dir -= 2) {
        for (let s = dir > 0 ? low : low - 1; s >= 0 && s < np; s += dir) {
          // a lower bound of the cost from the axis alone: gap² (or Huber(|gap|)/d)
          const gap = Math.abs(key[s] - qx);
          if ((huber ? (gap < 1 ? 0.5 * gap * gap : gap - 0.5) / d : gap * gap) > best) break;
          let e: number;
          if (huber) {
            e = 0;
            for (let k = 0; k < d; k++) {
              const t = Math.abs(q[base + k] - sorted[s * d + k]);
              e += t < 1 ? 0.5 * t * t : t - 0.5;
            }
            e /= d;
          } else if (d === 3) {
            const dx = q[base] - sorted[s * 3];
            const dy = q[base + 1] - sorted[s * 3 + 1];
            const dz = q[base + 2] - sorted[s * 3 + 2];
            e = dx * dx + dy * dy + dz * dz;
          } else {
            e = 0;
            for (let k = 0; k < d; k++) {
              const t = q[base + k] - sorted[s * d + k];
              e += t * t;
            }
          }
          if (e < best || (e === best && order[s] < arg)) {
            best = e;
            arg = order[s];
          }
        }
      }
      outMin[q0 + i] = best;
      outArg[q0 + i] = arg;
    }
  }

  /** Every pair once, updating the minima of both directions in the same pass. */
  function fullScan(t: number): void {
    const a0 = aStart[t];
    const n = aStart[t + 1] - a0;
    const b0 = bStart[t];
    const m = bStart[t + 1] - b0;
    for (let j = 0; j < m; j++) {
      bMin[b0 + j] = Number.POSITIVE_INFINITY;
      bArg[b0 + j] = -1;
    }
    let i = 0;
    if (d === 3 && !huber) {
      // Four rows of A per sweep over B: each B point is loaded once per four rows, and
      // the column minima are updated once per four candidates.
      for (; i + 4 <= n; i += 4) {
        const p = (a0 + i) * 3;
        const x0 = a[p],
          y0 = a[p + 1],
          z0 = a[p + 2];
        const x1 = a[p + 3],
          y1 = a[p + 4],
          z1 = a[p + 5];
        const x2 = a[p + 6],
          y2 = a[p + 7],
          z2 = a[p + 8];
        const x3 = a[p + 9],
          y3 = a[p + 10],
          z3 = a[p + 11];
        let m0 = Number.POSITIVE_INFINITY,
          m1 = m0,
          m2 = m0,
          m3 = m0;
        let k0 = -1,
          k1 = -1,
          k2 = -1,
          k3 = -1;
        for (let j = 0, q = b0 * 3; j < m; j++, q += 3) {
          const bx = b[q],
            by = b[q + 1],
            bz = b[q + 2];
          let dx = x0 - bx,
            dy = y0 - by,
            dz = z0 - bz;
          const e0 = dx * dx + dy * dy + dz * dz;
          dx = x1 - bx;
          dy = y1 - by;
          dz = z1 - bz;
          const e1 = dx * dx + dy * dy + dz * dz;
          dx = x2 - bx;
          dy = y2 - by;
          dz = z2 - bz;
          const e2 = dx * dx + dy * dy + dz * dz;
          dx = x3 - bx;
          dy = y3 - by;
          dz = z3 - bz;
          const e3 = dx * dx + dy * dy + dz * dz;
          if (e0 < m0) {
            m0 = e0;
            k0 = j;
          }
          if (e1 < m1) {
            m1 = e1;
            k1 = j;
          }
          if (e2 < m2) {
            m2 = e2;
            k2 = j;
          }
          if (e3 < m3) {
            m3 = e3;
            k3 = j;
          }
          // one (rarely taken) branch for the column minimum of the four
          const c = bMin[b0 + j];
          if (e0 < c || e1 < c || e2 < c || e3 < c) {
            let best = e0,
              arg = i;
            if (e1 < best) {
              best = e1;
              arg = i + 1;
            }
            if (e2 < best) {
              best = e2;
              arg = i + 2;
            }
            if (e3 < best) {
              best = e3;
              arg = i + 3;
            }
            bMin[b0 + j] = best;
            bArg[b0 + j] = arg;
          }
        }
        aMin[a0 + i] = m0;
        aArg[a0 + i] = k0;
        aMin[a0 + i + 1] = m1;
        aArg[a0 + i + 1] = k1;
        aMin[a0 + i + 2] = m2;
        aArg[a0 + i + 2] = k2;
        aMin[a0 + i + 3] = m3;
        aArg[a0 + i + 3] = k3;
      }
    }
    for (; i < n; i++) {
      const p = (a0 + i) * d;
      let best = Number.POSITIVE_INFINITY;
      let arg = -1;
      for (let j = 0, q = b0 * d; j < m; j++, q += d) {
        let e = 0;
        if (huber) {
          for (let k = 0; k < d; k++) {
            const t = Math.abs(a[p + k] - b[q + k]);
            e += t < 1 ? 0.5 * t * t : t - 0.5;
          }
          e /= d;
        } else {
          for (let k = 0; k < d; k++) {
            const t = a[p + k] - b[q + k];
            e += t * t;
          }
        }
        if (e < best) {
          best = e;
          arg = j;
        }
        if (e < bMin[b0 + j]) {
          bMin[b0 + j] = e;
          bArg[b0 + j] = i;
        }
      }
      aMin[a0 + i] = best;
      aArg[a0 + i] = arg;
    }
  }

  for (let t = first; t < last; t++) {
    const n = aStart[t + 1] - aStart[t];
    const m = bStart[t + 1] - bStart[t];
    // the sweep pays once sets are large; small sets take the full scan
    if (n * m >= 1 << 14 && n >= 32 && m >= 32) {
      nearestBySweep(a, aStart[t], n, b, bStart[t], m, aMin, aArg);
      nearestBySweep(b, bStart[t], m, a, aStart[t], n, bMin, bArg);
    } else {
      fullScan(t);
    }
  }
}

/** Runs a whole job; the default solves every set on the calling thread. */
export type NeighbourRunner = (job: NeighbourJob) => void;

const sequentialRunner: NeighbourRunner = (job) => solveNeighbourTasks(job, 0, job.aStart.length - 1);
let currentRunner: NeighbourRunner = sequentialRunner;

/**
 * Replaces how neighbour jobs run (e.g. `useWorkerThreads()` from `@setgen/ops/node` spreads
 * the sets over worker threads). Pass nothing to go back to the calling thread.
 */
export function setNeighbourRunner(runner?: NeighbourRunner): void {
  currentRunner = runner ?? sequentialRunner;
}

/** Solves a job with the current runner. */
export function runNeighbourJob(job: NeighbourJob): void {
  currentRunner(job);
}

/** Allocates the outputs of a job over the given sets. */
export function neighbourJob(
  a: Float32Array | Float64Array,
  aStart: Int32Array,
  b: Float32Array | Float64Array,
  bStart: Int32Array,
  d: number,
  huber: boolean,
): NeighbourJob {
  const na = aStart[aStart.length - 1];
  const nb = bStart[bStart.length - 1];
  return {
    d,
    huber,
    a,
    b,
    aStart,
    bStart,
    aMin: new Float64Array(na),
    aArg: new Int32Array(na),
    bMin: new Float64Array(nb),
    bArg: new Int32Array(nb),
  };
}

/** Options of {@link chamferDistanceHost}. */
export interface ChamferHostOptions {
  /** 'mean' (default, PointFlow metrics) or 'sum' (SetVAE training, Eq. 24) over points. */
  pointReduction?: PointReduction;
}

/**
 * Squared-Euclidean Chamfer distance between two host sets (float64 accumulation):
 * `'mean'`: mean_i min_j ‖a_i − b_j‖² + mean_j min_i ‖a_i − b_j‖²; `'sum'`: sums instead.
 */
export function chamferDistanceHost(a: HostSet, b: HostSet, options: ChamferHostOptions = {}): number {
  return chamferDistanceHostBatch([a], [b], options)[0];
}

/** Concatenates host sets (already checked, same `d`) for one neighbour job. */
function packHostSets(sets: readonly HostSet[]): { values: Float32Array | Float64Array; start: Int32Array } {
  const start = new Int32Array(sets.length + 1);
  sets.forEach((set, k) => {
    start[k + 1] = start[k] + set.n;
  });
  if (sets.length === 1) return { values: sets[0].values, start };
  const d = sets.length > 0 ? sets[0].d : 0;
  const wide = sets.some((set) => set.values instanceof Float64Array);
  const values = wide ? new Float64Array(start[sets.length] * d) : new Float32Array(start[sets.length] * d);
  sets.forEach((set, k) => {
    values.set(set.values, start[k] * d);
  });
  return { values, start };
}

/**
 * {@link chamferDistanceHost} for pairs `(a[k], b[k])` at once → `Float64Array [K]`. With
 * `useWorkerThreads()` from `@setgen/ops/node` the pairs are spread over threads.
 */
export function chamferDistanceHostBatch(
  a: readonly HostSet[],
  b: readonly HostSet[],
  options: ChamferHostOptions = {},
): Float64Array {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
    throw new ShapeError(
      `b: expected an array of ${Array.isArray(a) ? a.length : '?'} host sets to pair with a`,
    );
  }
  const label = (side: string, k: number) => (a.length === 1 ? side : `${side}[${k}]`);
  const d = a.length > 0 ? a[0]?.d : 0;
  a.forEach((set, k) => {
    checkHostSet(set, label('a', k));
    checkHostSet(b[k], label('b', k));
    if (set.d !== d) throw new ShapeError(`${label('a', k)}: expected d = ${d} like a[0], got d = ${set.d}`);
    if (b[k].d !== d)
      throw new ShapeError(`${label('b', k)}: expected d = ${d} to match a, got d = ${b[k].d}`);
  });
  const pointReduction =
    checkOptions(options, { pointReduction: is.oneOf(POINT_REDUCTIONS) }, 'chamferDistanceHost options')
      .pointReduction ?? 'mean';
  const packedA = packHostSets(a);
  const packedB = packHostSets(b);
  const job = neighbourJob(packedA.values, packedA.start, packedB.values, packedB.start, d, false);
  runNeighbourJob(job);
  return Float64Array.from(a, (_, k) => {
    let sa = 0;
    let sb = 0;
    for (let i = job.aStart[k]; i < job.aStart[k + 1]; i++) sa += job.aMin[i];
    for (let j = job.bStart[k]; j < job.bStart[k + 1]; j++) sb += job.bMin[j];
    const na = job.aStart[k + 1] - job.aStart[k];
    const nb = job.bStart[k + 1] - job.bStart[k];
    return pointReduction === 'mean' ? sa / na + sb / nb : sa + sb;
  });
}
