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
import { type AssignmentStart, augment, augmentingSearch } from './linear-sum-assignment.js';

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
 * Bertsekas' auction for minimisation on the candidate pairs: persons are rows, objects are
 * columns with prices p. A bid of row i takes its best object j (least c_ij + p_j) and raises
 * p_j by (second best − best) + ε, evicting j's owner; at the end every row holds an object
 * within ε of its best (ε-complementary slackness). Prices only ever rise.
 */
export class SparseAuction {
  readonly prices: Float64Array;
  readonly objectOf: Int32Array;
  readonly ownerOf: Int32Array;
  private readonly waiting: Int32Array;
  private waitingCount = 0;

  constructor(n: number) {
    this.prices = new Float64Array(n);
    this.objectOf = new Int32Array(n).fill(-1);
    this.ownerOf = new Int32Array(n).fill(-1);
    this.waiting = new Int32Array(n);
  }

  /** The first ε of the scaling schedule: a quarter of the spread of the graph's costs. */
  static firstEpsilon({ cost }: SparseCosts, epsilonFinal: number): number {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (let e = 0; e < cost.length; e++) {
      if (cost[e] < lowest) lowest = cost[e];
      if (cost[e] > highest) highest = cost[e];
    }
    return Math.max((highest - lowest) / 4, epsilonFinal);
  }

  /** The next ε of the schedule (ε / 5, not below `epsilonFinal`). */
  static nextEpsilon(epsilon: number, epsilonFinal: number): number {
    return Math.max(epsilon / EPSILON_DECAY, epsilonFinal);
  }

  /**
   * One phase of ε-scaling: every row bids from an empty assignment at the current prices.
   * False when it exceeds `maxBidsPerRow · n` bids (without a perfect matching prices climb
   * forever).
   */
  phase(graph: SparseCosts, epsilon: number, maxBidsPerRow = 64): boolean {
    const { n } = graph;
    this.objectOf.fill(-1);
    this.ownerOf.fill(-1);
    for (let i = 0; i < n; i++) this.waiting[i] = n - 1 - i;
    this.waitingCount = n;
    return this.bid(graph, epsilon, maxBidsPerRow * n);
  }

  /** ε-scaling from {@link SparseAuction.firstEpsilon} down to `epsilonFinal`; false as {@link phase}. */
  scale(graph: SparseCosts, epsilonFinal: number, maxBidsPerRow = 64): boolean {
    for (let epsilon = SparseAuction.firstEpsilon(graph, epsilonFinal); ; ) {
      if (!this.phase(graph, epsilon, maxBidsPerRow)) return false;
      if (epsilon <= epsilonFinal) return true;
      epsilon = SparseAuction.nextEpsilon(epsilon, epsilonFinal);
    }
  }

  /**
   * Releases each listed row whose object is no longer within ε of its best (after pairs
   * were added to the graph) and lets the released rows bid again at this ε. False when the
   * bids exceed `maxBidsPerRow · n`.
   */
  rebid(graph: SparseCosts, rows: ArrayLike<number>, epsilon: number, maxBidsPerRow = 64): boolean {
    const { start, col, cost } = graph;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      const held = this.objectOf[i];
      if (held < 0) continue;
      let best = Number.POSITIVE_INFINITY;
      let heldValue = Number.POSITIVE_INFINITY;
      for (let e = start[i]; e < start[i + 1]; e++) {
        const value = cost[e] + this.prices[col[e]];
        if (value < best) best = value;
        if (col[e] === held && value < heldValue) heldValue = value;
      }
      if (heldValue > best + epsilon) {
        this.objectOf[i] = -1;
        this.ownerOf[held] = -1;
        this.waiting[this.waitingCount++] = i;
      }
    }
    return this.bid(graph, epsilon, maxBidsPerRow * graph.n);
  }

  /** Lets the waiting rows bid until every row holds an object; false past `maxBids` bids. */
  private bid(graph: SparseCosts, epsilon: number, maxBids: number): boolean {
    const { start, col, cost } = graph;
    const { prices, objectOf, ownerOf, waiting } = this;
    let bids = 0;
    while (this.waitingCount > 0) {
      if (++bids > maxBids) return false;
      const person = waiting[--this.waitingCount];
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
      if (bestObject < 0) return false;
      // a row with a single candidate raises its price by ε only (it cannot be outbid by a
      // choice of its own)
      if (second === Number.POSITIVE_INFINITY) second = best;
      prices[bestObject] += second - best + epsilon;
      const previousOwner = ownerOf[bestObject];
      if (previousOwner >= 0) {
        objectOf[previousOwner] = -1;
        waiting[this.waitingCount++] = previousOwner;
      }
      ownerOf[bestObject] = person;
      objectOf[person] = bestObject;
    }
    return true;
  }

  /** u_i = min_j (c_ij + p_j) over row i's pairs into `u`. */
  rowValues({ n, start, col, cost }: SparseCosts, u: Float64Array): Float64Array {
    for (let i = 0; i < n; i++) {
      let best = Number.POSITIVE_INFINITY;
      for (let e = start[i]; e < start[i + 1]; e++) best = Math.min(best, cost[e] + this.prices[col[e]]);
      u[i] = best;
    }
    return u;
  }

  /**
   * The prices as a warm start for the shortest paths: u_i = min_j (c_ij + p_j), then
   * v_j = min_i (c_ij − u_i) over the column's pairs (feasible on the graph); the auction's
   * pairs that are exactly tight stay assigned, and a column's minimising row takes it if both
   * are still free.
   */
  start(graph: SparseCosts): AssignmentStart {
    const { n, start, col, cost } = graph;
    const u = this.rowValues(graph, new Float64Array(n));
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
      const j = this.objectOf[i];
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
}

/**
 * The auction's warm start for the shortest paths (see {@link SparseAuction}), or null when
 * the auction gives up (no perfect matching, or too many bids).
 */
export function sparseAuctionStart(
  graph: SparseCosts,
  epsilonFinal: number,
  maxBidsPerRow = 64,
): AssignmentStart | null {
  const auction = new SparseAuction(graph.n);
  return auction.scale(graph, epsilonFinal, maxBidsPerRow) ? auction.start(graph) : null;
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
  const search = augmentingSearch(u, v, colForRow, rowForCol);
  const { shortest, predecessor, scannedRows, scannedCols } = search;
  shortest.fill(Number.POSITIVE_INFINITY);
  const done = new Uint8Array(n); // column finalised in this search
  const touched = new Int32Array(n); // columns whose `shortest` was set, to reset cheaply
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
    if (sink >= 0) augment(search, freeRow, sink, pathLength, scannedRowCount, scannedColCount);
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
