/**
 * Square assignment on a sparse candidate graph (rows × columns, only listed pairs allowed):
 * an ε-scaling auction for a warm start, then shortest augmenting paths (Dijkstra with a
 * binary heap) to the exact optimum of the graph, with the dual potentials that prove it.
 * The exact EMD uses it on nearest-neighbour candidates and then certifies the duals
 * against every pair (emd-exact-sparse.ts).
 *
 * The graph is CSR: row i's pairs are `col[start[i] … start[i+1])` with costs `cost[…]`.
 * Duals follow linear-sum-assignment.ts: reduced cost c_ij − u_i − v_j ≥ 0 on every pair of
 * the graph and = 0 on every assigned pair.
 */
import type { AssignmentStart } from './linear-sum-assignment.js';

/** Candidate pairs of a square `[n, n]` problem, row-major CSR. */
export interface SparseCosts {
  n: number;
  start: Int32Array;
  col: Int32Array;
  cost: Float64Array;
}

/** Ratio between successive ε of the auction's scaling schedule. */
const EPSILON_DECAY = 5;

/**
 * Bertsekas' auction (minimisation, ε-scaling from range/4 down to `epsilonFinal`) on the
 * candidate pairs, turned into a warm start: v_j = −p_j, u_i = min_j (c_ij + p_j), then
 * v_j = min_i (c_ij − u_i) over the column's pairs; the auction's pairs that are exactly
 * tight stay assigned. Returns null when the bids exceed `maxBidsPerRow · n` per phase (a
 * graph without a perfect matching makes prices climb forever).
 */
export function sparseAuctionStart(
  graph: SparseCosts,
  epsilonFinal: number,
  maxBidsPerRow = 64,
): AssignmentStart | null {
  const { n, start, col, cost } = graph;
  const prices = new Float64Array(n);
  const objectOf = new Int32Array(n).fill(-1);
  const ownerOf = new Int32Array(n).fill(-1);
  const unassigned = new Int32Array(n);
  let lowest = Number.POSITIVE_INFINITY;
  let highest = Number.NEGATIVE_INFINITY;
  for (let e = 0; e < cost.length; e++) {
    if (cost[e] < lowest) lowest = cost[e];
    if (cost[e] > highest) highest = cost[e];
  }
  const range = Math.max(highest - lowest, epsilonFinal);
  let epsilon = Math.max(range / 4, epsilonFinal);
  for (;;) {
    objectOf.fill(-1);
    ownerOf.fill(-1);
    for (let i = 0; i < n; i++) unassigned[i] = n - 1 - i;
    let unassignedCount = n;
    let bids = 0;
    while (unassignedCount > 0) {
      if (++bids > maxBidsPerRow * n) return null;
      const person = unassigned[--unassignedCount];
      let best = Number.POSITIVE_INFINITY;
      let second = Number.POSITIVE_INFINITY;
      let bestObject = -1;
      for (let e = start[person]; e < start[person + 1]; e++) {
        const value = cost[e] + prices[col[e]];
        if (value < second) {
          if (value < best) {
            second = best;
            best = value;
            bestObject = col[e];
          } else {
            second = value;
          }
        }
      }
      if (bestObject < 0) return null;
      // a row with a single candidate bids as if its second were a full range away
      if (second === Number.POSITIVE_INFINITY) second = best + range;
      prices[bestObject] += second - best + epsilon;
      const previousOwner = ownerOf[bestObject];
      if (previousOwner >= 0) {
        objectOf[previousOwner] = -1;
        unassigned[unassignedCount++] = previousOwner;
      }
      ownerOf[bestObject] = person;
      objectOf[person] = bestObject;
    }
    if (epsilon <= epsilonFinal) break;
    epsilon = Math.max(epsilon / EPSILON_DECAY, epsilonFinal);
  }
  const u = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    for (let e = start[i]; e < start[i + 1]; e++) u[i] = Math.min(u[i], cost[e] + prices[col[e]]);
  }
  const v = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const argminRow = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    for (let e = start[i]; e < start[i + 1]; e++) {
      const value = cost[e] - u[i];
      if (value < v[col[e]]) {
        v[col[e]] = value;
        argminRow[col[e]] = i;
      }
    }
  }
  const colForRow = new Int32Array(n).fill(-1);
  const rowForCol = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const j = objectOf[i];
    for (let e = start[i]; e < start[i + 1]; e++) {
      if (col[e] === j && cost[e] - u[i] === v[j]) {
        colForRow[i] = j;
        rowForCol[j] = i;
        break;
      }
    }
  }
  for (let j = 0; j < n; j++) {
    const i = argminRow[j];
    if (i >= 0 && rowForCol[j] < 0 && colForRow[i] < 0) {
      colForRow[i] = j;
      rowForCol[j] = i;
    }
  }
  return { u, v, colForRow };
}

/**
 * Completes `state` (feasible duals on the graph, a partial assignment on tight pairs) to an
 * optimal assignment of the graph by shortest augmenting paths, updating u, v and colForRow
 * in place. Returns false, with the state still feasible, when a free row cannot reach a
 * free column (the graph has no perfect matching).
 */
export function sparseShortestPaths(graph: SparseCosts, state: AssignmentStart): boolean {
  const { n, start, col, cost } = graph;
  const { u, v, colForRow } = state;
  const rowForCol = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) if (colForRow[i] >= 0) rowForCol[colForRow[i]] = i;
  const shortest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const predecessor = new Int32Array(n);
  const done = new Uint8Array(n); // column finalised in this search
  const touched = new Int32Array(n); // columns whose `shortest` was set, to reset cheaply
  const scannedRows = new Int32Array(n);
  const scannedCols = new Int32Array(n);
  const heap = new MinHeap(n);

  for (let freeRow = 0; freeRow < n; freeRow++) {
    if (colForRow[freeRow] >= 0) continue;
    let touchedCount = 0;
    let scannedRowCount = 0;
    let scannedColCount = 0;
    heap.clear();
    let row = freeRow;
    let pathLength = 0;
    let sink = -1;
    for (;;) {
      scannedRows[scannedRowCount++] = row;
      const base = pathLength - u[row];
      for (let e = start[row]; e < start[row + 1]; e++) {
        const j = col[e];
        if (done[j]) continue;
        const reduced = base + cost[e] - v[j];
        if (reduced < shortest[j]) {
          if (shortest[j] === Number.POSITIVE_INFINITY) touched[touchedCount++] = j;
          shortest[j] = reduced;
          predecessor[j] = row;
          heap.push(j, reduced);
        }
      }
      // the closest column not yet final
      let next = -1;
      while (heap.size > 0) {
        const j = heap.pop();
        if (!done[j] && heap.poppedKey === shortest[j]) {
          next = j;
          break;
        }
      }
      if (next < 0) break;
      done[next] = 1;
      scannedCols[scannedColCount++] = next;
      pathLength = shortest[next];
      if (rowForCol[next] < 0) {
        sink = next;
        break;
      }
      row = rowForCol[next];
    }
    if (sink >= 0) {
      u[freeRow] += pathLength;
      for (let k = 1; k < scannedRowCount; k++) {
        const r = scannedRows[k];
        u[r] += pathLength - shortest[colForRow[r]];
      }
      for (let k = 0; k < scannedColCount; k++) {
        const j = scannedCols[k];
        v[j] -= pathLength - shortest[j];
      }
      let j = sink;
      for (;;) {
        const r = predecessor[j];
        rowForCol[j] = r;
        const previous = colForRow[r];
        colForRow[r] = j;
        j = previous;
        if (r === freeRow) break;
      }
    }
    for (let k = 0; k < touchedCount; k++) {
      shortest[touched[k]] = Number.POSITIVE_INFINITY;
      done[touched[k]] = 0;
    }
    if (sink < 0) return false;
  }
  return true;
}

/** A binary min-heap of (column, key) with lazy deletion (stale entries are skipped by the caller). */
class MinHeap {
  private items: Int32Array;
  private keys: Float64Array;
  size = 0;
  /** Key of the last popped item. */
  poppedKey = 0;

  constructor(capacity: number) {
    this.items = new Int32Array(Math.max(capacity, 16));
    this.keys = new Float64Array(Math.max(capacity, 16));
  }

  clear(): void {
    this.size = 0;
  }

  push(item: number, key: number): void {
    if (this.size === this.items.length) {
      const items = new Int32Array(this.size * 2);
      const keys = new Float64Array(this.size * 2);
      items.set(this.items);
      keys.set(this.keys);
      this.items = items;
      this.keys = keys;
    }
    let k = this.size++;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (this.keys[parent] <= key) break;
      this.items[k] = this.items[parent];
      this.keys[k] = this.keys[parent];
      k = parent;
    }
    this.items[k] = item;
    this.keys[k] = key;
  }

  pop(): number {
    const top = this.items[0];
    this.poppedKey = this.keys[0];
    const last = --this.size;
    const item = this.items[last];
    const key = this.keys[last];
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= last) break;
      if (child + 1 < last && this.keys[child + 1] < this.keys[child]) child++;
      if (this.keys[child] >= key) break;
      this.items[k] = this.items[child];
      this.keys[k] = this.keys[child];
      k = child;
    }
    this.items[k] = item;
    this.keys[k] = key;
    return top;
  }
}
