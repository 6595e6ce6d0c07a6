/**
 * Exact nearest-neighbour Chamfer distance between point clouds through a k-d tree built once
 * per cloud and reused for every pair it takes part in (PointFlow evaluation compares each cloud
 * with every other: the tree is O(N) memory and cuts a query from N distance evaluations to a
 * few dozen on 2-D/3-D data).
 *
 * Everything lives inside one self-contained factory so that worker threads can evaluate its
 * source text (`chamferKernel.toString()`) without a module loader: it must not reference
 * anything outside its own body.
 */

/** A k-d tree over one cloud, in flat typed arrays (shareable with worker threads). */
export interface PointCloudIndex {
  /** Number of points. */
  n: number;
  /** Dimensionality. */
  d: number;
  /** The points, reordered so that every tree node covers a contiguous range, `[n * d]`. */
  points: Float64Array;
  /** Depth of the (complete, balanced) tree; nodes at this depth are leaves. */
  depth: number;
  /** Per node (heap order): bounding-box lower corner `[nodes * d]`. */
  lower: Float64Array;
  /** Per node (heap order): bounding-box upper corner `[nodes * d]`. */
  upper: Float64Array;
}

/** The kernel's functions; see `chamferKernel`. */
export interface ChamferKernel {
  /**
   * Builds the k-d tree of a cloud (`values [n * d]`, row-major). `allocate` makes the index's
   * arrays (e.g. on a SharedArrayBuffer); default `new Float64Array(length)`.
   */
  buildIndex(
    values: ArrayLike<number>,
    n: number,
    d: number,
    allocate?: (length: number) => Float64Array,
  ): PointCloudIndex;
  /** Σ over the points of `from` of the squared distance to their nearest point in `to`. */
  sumOfNearestSquaredDistances(from: PointCloudIndex, to: PointCloudIndex): number;
  /** Σ over the points of `from` of the (Euclidean) distance to their nearest point in `to`. */
  sumOfNearestDistances(from: PointCloudIndex, to: PointCloudIndex): number;
  /** PointFlow's CD: mean_i min_j ‖a_i − b_j‖² + mean_j min_i ‖a_i − b_j‖². */
  chamferMean(a: PointCloudIndex, b: PointCloudIndex): number;
}

/** Creates the kernel (self-contained: see the file comment); leaves hold ≤ `leafSize` points. */
export function chamferKernel(leafSize = 16): ChamferKernel {
  // Number of halvings until every leaf holds at most `leafSize` points.
  function treeDepth(n: number): number {
    let depth = 0;
    while (Math.ceil(n / 2 ** depth) > leafSize) depth++;
    return depth;
  }

  // Rearranges rows [lo, hi) of `p` so that row `k` holds the k-th smallest coordinate `axis`.
  function select(p: Float64Array, d: number, lo: number, hi: number, k: number, axis: number): void {
    let left = lo;
    let right = hi - 1;
    while (right > left) {
      const pivot = p[((left + right) >> 1) * d + axis];
      let i = left;
      let j = right;
      while (i <= j) {
        while (p[i * d + axis] < pivot) i++;
        while (p[j * d + axis] > pivot) j--;
        if (i <= j) {
          for (let c = 0; c < d; c++) {
            const t = p[i * d + c];
            p[i * d + c] = p[j * d + c];
            p[j * d + c] = t;
          }
          i++;
          j--;
        }
      }
      if (k <= j) right = j;
      else if (k >= i) left = i;
      else return;
    }
  }

  function buildIndex(
    values: ArrayLike<number>,
    n: number,
    d: number,
    allocate: (length: number) => Float64Array = (length) => new Float64Array(length),
  ): PointCloudIndex {
    const depth = treeDepth(n);
    const nodes = 2 ** (depth + 1) - 1;
    const points = allocate(n * d);
    for (let i = 0; i < n * d; i++) points[i] = values[i];
    const lower = allocate(nodes * d);
    const upper = allocate(nodes * d);
    const build = (node: number, lo: number, hi: number, level: number): void => {
      let widest = 0;
      let widestSpread = -1;
      for (let c = 0; c < d; c++) {
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (let i = lo; i < hi; i++) {
          const v = points[i * d + c];
          if (v < min) min = v;
          if (v > max) max = v;
        }
        lower[node * d + c] = min;
        upper[node * d + c] = max;
        if (max - min > widestSpread) {
          widestSpread = max - min;
          widest = c;
        }
      }
      if (level === depth) return;
      const mid = (lo + hi) >> 1;
      if (hi - lo > 1) select(points, d, lo, hi, mid, widest);
      build(2 * node + 1, lo, mid, level + 1);
      build(2 * node + 2, mid, hi, level + 1);
    };
    build(0, 0, n, 0);
    return { n, d, points, depth, lower, upper };
  }

  // Squared distance from row `qi` of `qp` to the bounding box of `node`.
  function boxDistance(
    lower: Float64Array,
    upper: Float64Array,
    d: number,
    node: number,
    qp: Float64Array,
    qi: number,
  ): number {
    let s = 0;
    for (let c = 0; c < d; c++) {
      const v = qp[qi * d + c];
      const lo = lower[node * d + c];
      const hi = upper[node * d + c];
      const gap = v < lo ? lo - v : v > hi ? v - hi : 0;
      s += gap * gap;
    }
    return s;
  }

  // Depth-first search stack: node, its row range and its box distance.
  const stackNodes = new Int32Array(256);
  const stackLo = new Int32Array(256);
  const stackHi = new Int32Array(256);
  const stackDistance = new Float64Array(256);

  // Σ over `from` of the squared nearest distance in `to`, or of its square root (`root`).
  function sumOfNearest(from: PointCloudIndex, to: PointCloudIndex, root: boolean): number {
    if (to.d === 3) return sumOfNearest3(from, to, root);
    const d = to.d;
    const qp = from.points;
    const tp = to.points;
    const lower = to.lower;
    const upper = to.upper;
    const firstLeaf = 2 ** to.depth - 1;
    let total = 0;
    // Queries run in `from`'s tree order, so consecutive queries are spatial neighbours and the
    // previous answer is a tight starting bound.
    let previous = 0;
    for (let qi = 0; qi < from.n; qi++) {
      let best = 0;
      for (let c = 0; c < d; c++) {
        const diff = qp[qi * d + c] - tp[previous * d + c];
        best += diff * diff;
      }
      let bestIndex = previous;
      stackNodes[0] = 0;
      stackLo[0] = 0;
      stackHi[0] = to.n;
      stackDistance[0] = 0;
      let top = 1;
      while (top > 0) {
        top--;
        if (stackDistance[top] >= best) continue;
        const node = stackNodes[top];
        const lo = stackLo[top];
        const hi = stackHi[top];
        if (node >= firstLeaf) {
          for (let j = lo; j < hi; j++) {
            let s = 0;
            for (let c = 0; c < d; c++) {
              const diff = qp[qi * d + c] - tp[j * d + c];
              s += diff * diff;
            }
            if (s < best) {
              best = s;
              bestIndex = j;
            }
          }
          continue;
        }
        const mid = (lo + hi) >> 1;
        const left = 2 * node + 1;
        const right = left + 1;
        const dl = boxDistance(lower, upper, d, left, qp, qi);
        const dr = boxDistance(lower, upper, d, right, qp, qi);
        // push the farther child first so that the nearer one is searched first
        const nearLeft = dl <= dr;
        const farDistance = nearLeft ? dr : dl;
        if (farDistance < best) {
          stackNodes[top] = nearLeft ? right : left;
          stackLo[top] = nearLeft ? mid : lo;
          stackHi[top] = nearLeft ? hi : mid;
          stackDistance[top++] = farDistance;
        }
        const nearDistance = nearLeft ? dl : dr;
        if (nearDistance < best) {
          stackNodes[top] = nearLeft ? left : right;
          stackLo[top] = nearLeft ? lo : mid;
          stackHi[top] = nearLeft ? mid : hi;
          stackDistance[top++] = nearDistance;
        }
      }
      total += root ? Math.sqrt(best) : best;
      previous = bestIndex;
    }
    return total;
  }

  // The same search for 3-D clouds (the common case), with the coordinates in registers.
  function sumOfNearest3(from: PointCloudIndex, to: PointCloudIndex, root: boolean): number {
    const qp = from.points;
    const tp = to.points;
    const lower = to.lower;
    const upper = to.upper;
    const firstLeaf = 2 ** to.depth - 1;
    let total = 0;
    let previous = 0;
    for (let qi = 0; qi < from.n; qi++) {
      const qx = qp[3 * qi];
      const qy = qp[3 * qi + 1];
      const qz = qp[3 * qi + 2];
      let dx = qx - tp[3 * previous];
      let dy = qy - tp[3 * previous + 1];
      let dz = qz - tp[3 * previous + 2];
      let best = dx * dx + dy * dy + dz * dz;
      let bestIndex = previous;
      stackNodes[0] = 0;
      stackLo[0] = 0;
      stackHi[0] = to.n;
      stackDistance[0] = 0;
      let top = 1;
      while (top > 0) {
        top--;
        if (stackDistance[top] >= best) continue;
        const node = stackNodes[top];
        const lo = stackLo[top];
        const hi = stackHi[top];
        if (node >= firstLeaf) {
          for (let j = lo; j < hi; j++) {
            dx = qx - tp[3 * j];
            dy = qy - tp[3 * j + 1];
            dz = qz - tp[3 * j + 2];
            const s = dx * dx + dy * dy + dz * dz;
            if (s < best) {
              best = s;
              bestIndex = j;
            }
          }
          continue;
        }
        const mid = (lo + hi) >> 1;
        const left = 2 * node + 1;
        let b = 3 * left;
        dx = qx < lower[b] ? lower[b] - qx : qx > upper[b] ? qx - upper[b] : 0;
        dy = qy < lower[b + 1] ? lower[b + 1] - qy : qy > upper[b + 1] ? qy - upper[b + 1] : 0;
        dz = qz < lower[b + 2] ? lower[b + 2] - qz : qz > upper[b + 2] ? qz - upper[b + 2] : 0;
        const dl = dx * dx + dy * dy + dz * dz;
        b += 3;
        dx = qx < lower[b] ? lower[b] - qx : qx > upper[b] ? qx - upper[b] : 0;
        dy = qy < lower[b + 1] ? lower[b + 1] - qy : qy > upper[b + 1] ? qy - upper[b + 1] : 0;
        dz = qz < lower[b + 2] ? lower[b + 2] - qz : qz > upper[b + 2] ? qz - upper[b + 2] : 0;
        const dr = dx * dx + dy * dy + dz * dz;
        if (dl <= dr) {
          if (dr < best) {
            stackNodes[top] = left + 1;
            stackLo[top] = mid;
            stackHi[top] = hi;
            stackDistance[top++] = dr;
          }
          if (dl < best) {
            stackNodes[top] = left;
            stackLo[top] = lo;
            stackHi[top] = mid;
            stackDistance[top++] = dl;
          }
        } else {
          if (dl < best) {
            stackNodes[top] = left;
            stackLo[top] = lo;
            stackHi[top] = mid;
            stackDistance[top++] = dl;
          }
          if (dr < best) {
            stackNodes[top] = left + 1;
            stackLo[top] = mid;
            stackHi[top] = hi;
            stackDistance[top++] = dr;
          }
        }
      }
      total += root ? Math.sqrt(best) : best;
      previous = bestIndex;
    }
    return total;
  }

  const sumOfNearestSquaredDistances = (from: PointCloudIndex, to: PointCloudIndex) =>
    sumOfNearest(from, to, false);
  const sumOfNearestDistances = (from: PointCloudIndex, to: PointCloudIndex) => sumOfNearest(from, to, true);

  function chamferMean(a: PointCloudIndex, b: PointCloudIndex): number {
    return sumOfNearestSquaredDistances(a, b) / a.n + sumOfNearestSquaredDistances(b, a) / b.n;
  }

  return { buildIndex, sumOfNearestSquaredDistances, sumOfNearestDistances, chamferMean };
}
