/**
 * Exact EMD of two equal-size point sets without the dense n × n cost matrix: the optimal
 * matching of Euclidean point sets pairs points with near neighbours, so solve the
 * assignment on a sparse candidate graph (each point's k nearest neighbours in the other
 * set, both ways), then certify it on ALL pairs with the duals: if c_ij ≥ u_i + v_j for
 * every i, j (up to float64 rounding), the graph's optimum is the global optimum (LP duality).
 * Violating pairs are added to the graph and the solve resumes from the same duals; after
 * `MAX_REPAIRS` rounds, or if the graph has no perfect matching, the caller falls back to
 * the dense solver. Memory O(n·k); time ≈ one pass over the n² pairs for the candidates and
 * one for the certificate, plus a sparse solve.
 */
import type { HostSet } from './set-batch.js';
import { type SparseCosts, sparseAuctionStart, sparseShortestPaths } from './sparse-assignment.js';

/** Nearest neighbours per point, each way. */
const NEIGHBOURS = 16;
/** Rounds of "add the violating pairs and re-solve" before giving up on the sparse path. */
const MAX_REPAIRS = 6;
/** At most this many violating pairs per row are added per round. */
const MAX_NEW_PER_ROW = 64;

/**
 * Σ_i ‖a_i − b_π(i)‖ at the optimal π, or null when the sparse path gives up (the caller
 * then solves densely). `warmStartEpsilon` is the auction's final ε in cost units.
 */
export function sparseExactEmd(a: HostSet, b: HostSet, warmStartEpsilon: number): number | null {
  const n = a.n;
  const d = a.d;
  const ax = Float64Array.from(a.values);
  const bx = Float64Array.from(b.values);
  const graph = candidateGraph(ax, bx, n, d, Math.min(NEIGHBOURS, n));
  const state = sparseAuctionStart(graph, warmStartEpsilon);
  if (!state) return null;
  let current = graph;
  // A pair outside the graph can only become violated when u_i + v_j grows. The shortest
  // paths only raise u (of the rows they scan) and lower v, and a repair only lowers u; so
  // after the first full check a row needs checking again only when its u has risen by
  // more than the smallest slack c_ij − u_i − v_j of its pairs outside the graph.
  const checkedU = new Float64Array(n);
  const slack = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const rows = new Int32Array(n);
  for (let round = 0; ; round++) {
    if (!sparseShortestPaths(current, state)) return null;
    let count = 0;
    for (let i = 0; i < n; i++) if (!(state.u[i] - checkedU[i] < slack[i])) rows[count++] = i;
    const checked = rows.subarray(0, count);
    const violations = certificateViolations(ax, bx, d, state, current, checked, slack);
    if (process.env.EMD_DEBUG) console.error('round', round, 'checked', count, 'viol', violations.length / 2);
    for (const i of checked) checkedU[i] = state.u[i];
    if (violations.length === 0) break;
    if (round >= MAX_REPAIRS) return null;
    current = withPairs(current, violations, ax, bx, d);
    // Lower u_i so every pair of row i is feasible again; a row whose matched pair is no
    // longer tight becomes free for the next shortest-path round.
    const { start, col, cost } = current;
    for (let k = 0; k < violations.length; k += 2) {
      const i = violations[k];
      let lowest = Number.POSITIVE_INFINITY;
      for (let e = start[i]; e < start[i + 1]; e++) lowest = Math.min(lowest, cost[e] - state.v[col[e]]);
      if (lowest < state.u[i]) {
        state.u[i] = lowest;
        state.colForRow[i] = -1;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += distance(ax, bx, d, i, state.colForRow[i]);
  return total;
}

function distance(ax: Float64Array, bx: Float64Array, d: number, i: number, j: number): number {
  let squared = 0;
  for (let k = 0; k < d; k++) {
    const delta = ax[i * d + k] - bx[j * d + k];
    squared += delta * delta;
  }
  return Math.sqrt(squared);
}

/**
 * The union of each a_i's k nearest b_j and each b_j's k nearest a_i, as CSR over rows i.
 * One pass over the n² pairs keeps a sorted list of the k best per row and per column.
 */
function candidateGraph(ax: Float64Array, bx: Float64Array, n: number, d: number, k: number): SparseCosts {
  const rowBest = new Float64Array(n * k).fill(Number.POSITIVE_INFINITY);
  const rowIdx = new Int32Array(n * k).fill(-1);
  const colBest = new Float64Array(n * k).fill(Number.POSITIVE_INFINITY);
  const colIdx = new Int32Array(n * k).fill(-1);
  // the k-th best of each column, contiguous: the test every pair makes stays in cache
  const colWorst = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const squared = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pairDistancesSquared(ax, bx, n, d, i, squared);
    const rowOffset = i * k;
    let rowWorst = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      const s = squared[j];
      if (s < rowWorst) rowWorst = insertSorted(rowBest, rowIdx, rowOffset, k, s, j);
      if (s < colWorst[j]) colWorst[j] = insertSorted(colBest, colIdx, j * k, k, s, i);
    }
  }
  // rows' lists plus the column lists transposed, deduplicated per row
  const pairsOfRow: number[][] = Array.from({ length: n }, () => []);
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < k; t++) {
      const i = colIdx[j * k + t];
      if (i >= 0) pairsOfRow[i].push(j);
    }
  }
  const start = new Int32Array(n + 1);
  const cols: number[] = [];
  const mark = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    start[i] = cols.length;
    for (let t = 0; t < k; t++) {
      const j = rowIdx[i * k + t];
      if (j >= 0 && mark[j] !== i) {
        mark[j] = i;
        cols.push(j);
      }
    }
    for (const j of pairsOfRow[i]) {
      if (mark[j] !== i) {
        mark[j] = i;
        cols.push(j);
      }
    }
  }
  start[n] = cols.length;
  const col = Int32Array.from(cols);
  const cost = new Float64Array(col.length);
  for (let i = 0; i < n; i++) {
    for (let e = start[i]; e < start[i + 1]; e++) cost[e] = distance(ax, bx, d, i, col[e]);
  }
  return { n, start, col, cost };
}

/** ‖a_i − b_j‖² for every j into `out`. */
function pairDistancesSquared(
  ax: Float64Array,
  bx: Float64Array,
  n: number,
  d: number,
  i: number,
  out: Float64Array,
): void {
  if (d === 3) {
    const x = ax[3 * i];
    const y = ax[3 * i + 1];
    const z = ax[3 * i + 2];
    for (let j = 0, o = 0; j < n; j++, o += 3) {
      const dx = x - bx[o];
      const dy = y - bx[o + 1];
      const dz = z - bx[o + 2];
      out[j] = dx * dx + dy * dy + dz * dz;
    }
    return;
  }
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let c = 0; c < d; c++) {
      const delta = ax[i * d + c] - bx[j * d + c];
      s += delta * delta;
    }
    out[j] = s;
  }
}

/**
 * Inserts (value, index) into the ascending list `best[offset … offset+k)`, dropping its last
 * entry; returns the new last (k-th best) value.
 */
function insertSorted(
  best: Float64Array,
  idx: Int32Array,
  offset: number,
  k: number,
  value: number,
  index: number,
): number {
  let t = offset + k - 1;
  while (t > offset && best[t - 1] > value) {
    best[t] = best[t - 1];
    idx[t] = idx[t - 1];
    t--;
  }
  best[t] = value;
  idx[t] = index;
  return best[offset + k - 1];
}

/**
 * Pairs (i, j), i in `rows`, with ‖a_i − b_j‖ < u_i + v_j beyond rounding, flattened
 * [i0, j0, i1, j1, …], at most MAX_NEW_PER_ROW per row (any violating pair added makes
 * progress). Also sets `slack[i]` to the smallest c_ij − u_i − v_j over row i's pairs outside
 * the graph (−∞ when the row has violations left). A pair costs one squared distance and a
 * comparison with (u_i + v_j + slack so far)²: the square root is taken only for the few
 * pairs that could lower the slack.
 */
function certificateViolations(
  ax: Float64Array,
  bx: Float64Array,
  d: number,
  { u, v }: { u: Float64Array; v: Float64Array },
  graph: SparseCosts,
  rows: Int32Array,
  slack: Float64Array,
): number[] {
  const n = v.length;
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(u[i]), Math.abs(v[i]));
  const tolerance = 1e-12 * (scale + 1);
  const out: number[] = [];
  const squared = new Float64Array(n);
  const inGraph = new Int32Array(n).fill(-1);
  for (const i of rows) {
    for (let e = graph.start[i]; e < graph.start[i + 1]; e++) inGraph[graph.col[e]] = i;
    const ui = u[i];
    pairDistancesSquared(ax, bx, n, d, i, squared);
    let smallest = Number.POSITIVE_INFINITY;
    let added = 0;
    for (let j = 0; j < n; j++) {
      const t = ui + v[j];
      const w = t + smallest;
      if (w > 0 && squared[j] < w * w && inGraph[j] !== i) {
        const gap = Math.sqrt(squared[j]) - t;
        if (gap < -tolerance) {
          out.push(i, j);
          if (++added === MAX_NEW_PER_ROW) break;
        } else if (gap < smallest) {
          smallest = gap;
        }
      }
    }
    slack[i] = added > 0 ? Number.NEGATIVE_INFINITY : smallest;
  }
  return out;
}

/** The graph with the pairs [i0, j0, i1, j1, …] added (they are not in it yet). */
function withPairs(
  graph: SparseCosts,
  pairs: number[],
  ax: Float64Array,
  bx: Float64Array,
  d: number,
): SparseCosts {
  const { n, start, col, cost } = graph;
  const added = new Int32Array(n + 1);
  for (let k = 0; k < pairs.length; k += 2) added[pairs[k] + 1]++;
  const newStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) newStart[i + 1] = newStart[i] + (start[i + 1] - start[i]) + added[i + 1];
  const newCol = new Int32Array(newStart[n]);
  const newCost = new Float64Array(newStart[n]);
  const fill = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const from = start[i];
    const count = start[i + 1] - from;
    newCol.set(col.subarray(from, from + count), newStart[i]);
    newCost.set(cost.subarray(from, from + count), newStart[i]);
    fill[i] = newStart[i] + count;
  }
  for (let k = 0; k < pairs.length; k += 2) {
    const i = pairs[k];
    const j = pairs[k + 1];
    newCol[fill[i]] = j;
    newCost[fill[i]++] = distance(ax, bx, d, i, j);
  }
  return { n, start: newStart, col: newCol, cost: newCost };
}
