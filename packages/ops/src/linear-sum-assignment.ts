/**
 * Linear sum assignment (the "Hungarian" problem) on the host, exact, in float64.
 *
 * Shortest augmenting paths with dual potentials (Jonker & Volgenant 1987, in the rectangular
 * form of Crouse 2016, "On implementing 2D rectangular assignment algorithms" — the algorithm
 * behind scipy.optimize.linear_sum_assignment). Each free row grows a Dijkstra tree over the
 * reduced costs c_ij − u_i − v_j ≥ 0 until it reaches a free column, then the duals are
 * updated and the path is augmented: O(rows² · cols) worst case, on typed arrays.
 * Square matrices start from the JV column reduction (v_j = min_i c_ij, greedy assignment of
 * each column's minimum row), which leaves far fewer rows to augment.
 */
import { DataError, ShapeError } from './errors.js';
import { checkOptions, is } from './validate.js';

/** Options of {@link linearSumAssignment}. */
export interface LinearSumAssignmentOptions {
  /** Number of rows; required when `cost` is a flat array (row-major), checked otherwise. */
  rows?: number;
  /** Number of columns; required when `cost` is a flat array, checked otherwise. */
  cols?: number;
  /** Maximise the total instead of minimising it. Default false. */
  maximize?: boolean;
}

/** The optimal assignment: `rowIndices[k]` is matched to `colIndices[k]`. */
export interface LinearSumAssignmentResult {
  /** Assigned rows, ascending; `min(rows, cols)` of them. */
  rowIndices: Int32Array;
  /** The column assigned to each entry of `rowIndices`. */
  colIndices: Int32Array;
  /** Σ_k cost[rowIndices[k]][colIndices[k]] in float64. */
  cost: number;
}

/**
 * Solves min (or max) Σ_k C[r_k][c_k] over one-to-one assignments of `min(rows, cols)` pairs,
 * exactly as scipy.optimize.linear_sum_assignment (same optimal total; ties may pick another
 * optimal assignment).
 *
 * `cost` is `number[][]` (rows may also be typed arrays) or a flat row-major
 * `ArrayLike<number>` with `rows`/`cols`.
 * `+Infinity` marks a forbidden pair (with `maximize`, `-Infinity` does); a matrix with no
 * feasible full assignment, NaN, or the opposite infinity throws `DataError`. Bad shapes
 * throw `ShapeError`. An empty matrix gives an empty assignment of cost 0.
 */
export function linearSumAssignment(
  cost: ArrayLike<number> | readonly ArrayLike<number>[],
  options: LinearSumAssignmentOptions = {},
): LinearSumAssignmentResult {
  // rows and cols describe cost's shape: readCostMatrix checks them (ShapeError)
  const opts = checkOptions(
    options,
    { rows: is.any, cols: is.any, maximize: is.boolean },
    'linearSumAssignment options',
  );
  const { rows, cols, matrix } = readCostMatrix(cost, opts as LinearSumAssignmentOptions);
  const maximize = opts.maximize ?? false;
  const forbidden = maximize ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (let k = 0; k < matrix.length; k++) {
    const value = matrix[k];
    if (Number.isNaN(value) || value === -forbidden) {
      throw new DataError(
        `linearSumAssignment: cost[${Math.floor(k / cols)}][${k % cols}] is ${value}; costs must be finite or ` +
          `${forbidden} (forbidden pair)`,
      );
    }
  }
  if (rows === 0 || cols === 0) {
    return { rowIndices: new Int32Array(0), colIndices: new Int32Array(0), cost: 0 };
  }
  // The solver minimises and assigns every row, so it needs rows ≤ cols: transpose otherwise.
  const transposed = rows > cols;
  const solverRows = transposed ? cols : rows;
  const solverCols = transposed ? rows : cols;
  let work = matrix;
  if (transposed || maximize) {
    const sign = maximize ? -1 : 1;
    work = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        work[transposed ? c * rows + r : r * cols + c] = sign * matrix[r * cols + c];
      }
    }
  }
  const colForRow = solveAssignment(work, solverRows, solverCols);

  const pairs = solverRows;
  const rowIndices = new Int32Array(pairs);
  const colIndices = new Int32Array(pairs);
  if (transposed) {
    // colForRow maps each original column to its row; list the rows in ascending order.
    const colOfRow = new Int32Array(rows).fill(-1);
    for (let c = 0; c < cols; c++) colOfRow[colForRow[c]] = c;
    let k = 0;
    for (let r = 0; r < rows; r++) {
      if (colOfRow[r] >= 0) {
        rowIndices[k] = r;
        colIndices[k++] = colOfRow[r];
      }
    }
  } else {
    for (let r = 0; r < rows; r++) {
      rowIndices[r] = r;
      colIndices[r] = colForRow[r];
    }
  }
  let total = 0;
  for (let k = 0; k < pairs; k++) total += matrix[rowIndices[k] * cols + colIndices[k]];
  return { rowIndices, colIndices, cost: total };
}

/**
 * A starting point for {@link solveAssignment}: dual potentials with c_ij − u_i − v_j ≥ 0
 * everywhere, and a partial assignment (−1 = free) on pairs where it is 0. Updated in place.
 */
export interface AssignmentStart {
  u: Float64Array;
  v: Float64Array;
  colForRow: Int32Array;
}

/**
 * The shortest-augmenting-path kernel (no argument checks): `cost` is row-major
 * `[rows, cols]` float64 with rows ≤ cols, entries finite or +Infinity (forbidden).
 * Returns the column assigned to each row; throws `DataError` if no full assignment exists.
 * `cost` is only read.
 */
export function solveAssignment(
  cost: Float64Array,
  rows: number,
  cols: number,
  start?: AssignmentStart,
): Int32Array {
  const u = start?.u ?? new Float64Array(rows); // row duals
  const v = start?.v ?? new Float64Array(cols); // column duals
  const colForRow = start?.colForRow ?? new Int32Array(rows).fill(-1);
  const rowForCol = new Int32Array(cols).fill(-1);
  if (start) {
    for (let i = 0; i < rows; i++) if (colForRow[i] >= 0) rowForCol[colForRow[i]] = i;
  } else if (rows >= REDUCTION_MIN_ROWS) {
    // JV's initialisation: on square matrices column reduction and reduction transfer,
    // then (square or not) two rounds of augmenting row reduction. It assigns most rows
    // with feasible duals, so few shortest paths remain.
    const free = rows === cols ? columnReduction(cost, rows, v, colForRow, rowForCol) : allRows(rows);
    augmentingRowReduction(cost, rows, cols, u, v, colForRow, rowForCol, free);
  } else if (rows === cols) {
    columnReduction(cost, rows, v, colForRow, rowForCol);
  }

  const search = augmentingSearch(u, v, colForRow, rowForCol);
  const { shortest, predecessor, scannedRows, scannedCols } = search;
  const unscanned = new Int32Array(cols); // columns not yet in the tree

  for (let freeRow = 0; freeRow < rows; freeRow++) {
    if (colForRow[freeRow] >= 0) continue;
    // Dijkstra from freeRow until the cheapest reachable column is unassigned (the sink).
    shortest.fill(Number.POSITIVE_INFINITY);
    // Reverse order, so that among equal costs the last column wins (scipy's choice: a
    // constant matrix gives the identity).
    for (let k = 0; k < cols; k++) unscanned[k] = cols - 1 - k;
    let unscannedCount = cols;
    let scannedRowCount = 0;
    let scannedColCount = 0;
    let pathLength = 0;
    let row = freeRow;
    let sink = -1;
    while (sink < 0) {
      scannedRows[scannedRowCount++] = row;
      const offset = row * cols;
      const base = pathLength - u[row];
      let lowest = Number.POSITIVE_INFINITY;
      let lowestAt = -1;
      for (let k = 0; k < unscannedCount; k++) {
        const j = unscanned[k];
        const reduced = base + cost[offset + j] - v[j];
        let best = shortest[j];
        if (reduced < best) {
          predecessor[j] = row;
          shortest[j] = reduced;
          best = reduced;
        }
        // Among equal lengths prefer a free column: the search ends sooner.
        if (best < lowest || (best === lowest && rowForCol[j] < 0)) {
          lowest = best;
          lowestAt = k;
        }
      }
      if (lowest === Number.POSITIVE_INFINITY) {
        throw new DataError(
          'linearSumAssignment: the cost matrix is infeasible: no complete assignment avoids the ' +
            'forbidden (infinite) pairs',
        );
      }
      pathLength = lowest;
      const col = unscanned[lowestAt];
      unscanned[lowestAt] = unscanned[--unscannedCount];
      scannedCols[scannedColCount++] = col;
      if (rowForCol[col] < 0) sink = col;
      else row = rowForCol[col];
    }
    augment(search, freeRow, sink, pathLength, scannedRowCount, scannedColCount);
  }
  return colForRow;
}

/**
 * The state of shortest-augmenting-path searches (this solver's and the sparse one's,
 * sparse-assignment.ts): the duals and the assignment both ways, and per search the
 * Dijkstra labels and the rows and columns it made final, in order.
 */
export interface AugmentingSearch {
  u: Float64Array;
  v: Float64Array;
  colForRow: Int32Array;
  rowForCol: Int32Array;
  /** Shortest reduced path length from the free row to each column. */
  shortest: Float64Array;
  /** The row before each column on its shortest path. */
  predecessor: Int32Array;
  scannedRows: Int32Array;
  scannedCols: Int32Array;
}

/** A search state over `u`, `v` and the assignment, with its per-search arrays allocated. */
export function augmentingSearch(
  u: Float64Array,
  v: Float64Array,
  colForRow: Int32Array,
  rowForCol: Int32Array,
): AugmentingSearch {
  const rows = colForRow.length;
  const cols = rowForCol.length;
  return {
    u,
    v,
    colForRow,
    rowForCol,
    shortest: new Float64Array(cols),
    predecessor: new Int32Array(cols),
    scannedRows: new Int32Array(rows),
    scannedCols: new Int32Array(cols),
  };
}

/**
 * Ends a search from `freeRow` that reached the unassigned column `sink` at reduced length
 * `pathLength`: the dual update keeps c_ij − u_i − v_j ≥ 0 everywhere and = 0 on assigned
 * pairs (the scanned rows rise, the scanned columns fall, by how much shorter than the path
 * their labels are), then the alternating path from the sink back to freeRow flips.
 */
export function augment(
  search: AugmentingSearch,
  freeRow: number,
  sink: number,
  pathLength: number,
  scannedRowCount: number,
  scannedColCount: number,
): void {
  const { u, v, colForRow, rowForCol, shortest, predecessor, scannedRows, scannedCols } = search;
  u[freeRow] += pathLength;
  for (let k = 1; k < scannedRowCount; k++) {
    const r = scannedRows[k];
    u[r] += pathLength - shortest[colForRow[r]];
  }
  for (let k = 0; k < scannedColCount; k++) {
    const j = scannedCols[k];
    v[j] -= pathLength - shortest[j];
  }
  let col = sink;
  for (;;) {
    const r = predecessor[col];
    rowForCol[col] = r;
    const previous = colForRow[r];
    colForRow[r] = col;
    col = previous;
    if (r === freeRow) break;
  }
}

/**
 * Below this many rows the solver starts from plain column reduction, whose ties follow
 * scipy's (a constant matrix gives the identity); from here on JV's full initialisation
 * (reduction transfer, augmenting row reduction) pays for itself.
 */
const REDUCTION_MIN_ROWS = 128;

function allRows(rows: number): Int32Array {
  const free = new Int32Array(rows);
  for (let i = 0; i < rows; i++) free[i] = i;
  return free;
}

/**
 * JV initialisation for a square matrix: v_j = min_i c_ij (dual feasible with u = 0), and
 * each column's minimising row takes that column if the row is still free (a zero reduced
 * cost, so complementary slackness holds). Returns the rows left free.
 */
function columnReduction(
  cost: Float64Array,
  n: number,
  v: Float64Array,
  colForRow: Int32Array,
  rowForCol: Int32Array,
): Int32Array {
  const argmin = new Int32Array(n);
  v.fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const offset = i * n;
    for (let j = 0; j < n; j++) {
      const c = cost[offset + j];
      if (c < v[j]) {
        v[j] = c;
        argmin[j] = i;
      }
    }
  }
  for (let j = 0; j < n; j++) {
    if (v[j] === Number.POSITIVE_INFINITY) {
      throw new DataError(
        `linearSumAssignment: the cost matrix is infeasible: every entry of column ${j} is forbidden (infinite)`,
      );
    }
    const i = argmin[j];
    if (colForRow[i] < 0) {
      colForRow[i] = j;
      rowForCol[j] = i;
    }
  }
  let freeCount = 0;
  for (let i = 0; i < n; i++) if (colForRow[i] < 0) argmin[freeCount++] = i;
  return argmin.subarray(0, freeCount);
}

/**
 * JV's augmenting row reduction (Jonker & Volgenant 1987, §3), on rows `free`, two rounds.
 * A free row takes the column of its smallest c_ij − v_j and lowers that column's v by the
 * gap to its second smallest, so the column stays its best by exactly that gap; the row it
 * displaces becomes free (and, when the gap was positive, bids again at once). v only ever
 * decreases and only on assigned columns, so on a rectangular matrix the unassigned columns
 * keep v = 0 (the complementary slackness the rectangular problem needs). At the end
 * u_i = c_i,x(i) − v_x(i) for assigned rows and min_j (c_ij − v_j) for free ones, which is
 * dual feasible with zero reduced cost on every assigned pair.
 */
function augmentingRowReduction(
  cost: Float64Array,
  rows: number,
  cols: number,
  u: Float64Array,
  v: Float64Array,
  colForRow: Int32Array,
  rowForCol: Int32Array,
  initiallyFree: Int32Array,
): void {
  const free = Int32Array.from(initiallyFree);
  let freeCount = free.length;
  if (rows === cols) reductionTransfer(cost, rows, v, colForRow);
  for (let round = 0; round < 2 && freeCount > 0; round++) {
    const pending = freeCount;
    freeCount = 0;
    let k = 0;
    // Bound the re-bids of one round (ties and tiny gaps could otherwise ping-pong). Counted
    // on uniform matrices, n = 1000–2000: more re-bids cost more than the shortest paths
    // they save (total row scans ≈ 8 n² at this bound, 12 n² at 4·rows, 42 n² unbounded).
    let budget = rows + pending;
    while (k < pending && budget-- > 0) {
      const i = free[k++];
      const offset = i * cols;
      let first = Number.POSITIVE_INFINITY;
      let second = Number.POSITIVE_INFINITY;
      let j1 = -1;
      let j2 = -1;
      for (let j = 0; j < cols; j++) {
        const h = cost[offset + j] - v[j];
        if (h < second) {
          if (h >= first) {
            second = h;
            j2 = j;
          } else {
            second = first;
            j2 = j1;
            first = h;
            j1 = j;
          }
        }
      }
      if (j1 < 0) {
        free[freeCount++] = i; // every pair forbidden: the shortest paths will say so
        continue;
      }
      let displaced = rowForCol[j1];
      const gap = second - first;
      if (gap > 0 && Number.isFinite(gap)) {
        v[j1] -= gap;
      } else if (displaced >= 0 && j2 >= 0) {
        // a tie: take the other best column instead of pushing the owner out
        j1 = j2;
        displaced = rowForCol[j1];
      }
      if (displaced >= 0) colForRow[displaced] = -1;
      colForRow[i] = j1;
      rowForCol[j1] = i;
      if (displaced >= 0) {
        if (gap > 0 && Number.isFinite(gap)) free[--k] = displaced;
        else free[freeCount++] = displaced;
      }
    }
    while (k < pending) free[freeCount++] = free[k++]; // budget spent: keep the rest free
  }
  for (let i = 0; i < rows; i++) {
    const offset = i * cols;
    const j = colForRow[i];
    if (j >= 0) {
      u[i] = cost[offset + j] - v[j];
    } else {
      let lowest = Number.POSITIVE_INFINITY;
      for (let jj = 0; jj < cols; jj++) lowest = Math.min(lowest, cost[offset + jj] - v[jj]);
      u[i] = Number.isFinite(lowest) ? lowest : 0;
    }
  }
}

/**
 * JV's reduction transfer after column reduction: a row assigned to column j gives that
 * column the slack of its second-best reduced cost (v_j −= min_{k≠j} c_ik − v_k), which keeps
 * the duals feasible and makes the column a harder target for the row reduction's bids.
 */
function reductionTransfer(cost: Float64Array, n: number, v: Float64Array, colForRow: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const j1 = colForRow[i];
    if (j1 < 0) continue;
    const offset = i * n;
    let lowest = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      if (j === j1) continue;
      const h = cost[offset + j] - v[j];
      if (h < lowest) lowest = h;
    }
    if (Number.isFinite(lowest)) v[j1] -= lowest;
  }
}

/** Validates the shape of `cost` and returns a row-major float64 copy. */
function readCostMatrix(
  cost: ArrayLike<number> | readonly ArrayLike<number>[],
  options: LinearSumAssignmentOptions,
): { rows: number; cols: number; matrix: Float64Array } {
  if (cost === null || typeof cost !== 'object' || typeof cost.length !== 'number') {
    throw new ShapeError(
      `linearSumAssignment: cost must be a number[][] or a flat ArrayLike<number> of length rows*cols, received ${describe(cost)}`,
    );
  }
  for (const key of ['rows', 'cols'] as const) {
    const dim = options[key];
    if (dim !== undefined && !(Number.isInteger(dim) && dim >= 0)) {
      throw new ShapeError(
        `linearSumAssignment: options.${key} must be a non-negative integer, received ${String(dim)}`,
      );
    }
  }
  const nested = Array.isArray(cost) && cost.length > 0 && isRow(cost[0]);
  if (nested) {
    const rowsOfCost = cost as readonly ArrayLike<number>[];
    const rows = rowsOfCost.length;
    const cols = rowsOfCost[0].length;
    for (let r = 0; r < rows; r++) {
      const row = rowsOfCost[r];
      if (!isRow(row) || row.length !== cols) {
        throw new ShapeError(
          `linearSumAssignment: cost must be a rectangular number[][] of shape [${rows},${cols}], ` +
            `but cost[${r}] ${isRow(row) ? `has length ${row.length}` : `is ${describe(row)}`}`,
        );
      }
    }
    checkDimension('rows', options.rows, rows);
    checkDimension('cols', options.cols, cols);
    const matrix = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = rowsOfCost[r];
      for (let c = 0; c < cols; c++) matrix[r * cols + c] = numberAt(row[c], r, c);
    }
    return { rows, cols, matrix };
  }
  const flat = cost as ArrayLike<number>;
  const { rows, cols } = options;
  if (rows === undefined || cols === undefined) {
    if (flat.length === 0 && rows === undefined && cols === undefined) {
      return { rows: 0, cols: 0, matrix: new Float64Array(0) };
    }
    throw new ShapeError(
      `linearSumAssignment: a flat cost array needs options.rows and options.cols (received rows ${String(rows)}, cols ${String(cols)}, length ${flat.length})`,
    );
  }
  if (flat.length !== rows * cols) {
    throw new ShapeError(
      `linearSumAssignment: cost must have length rows*cols = ${rows}*${cols} = ${rows * cols}, received length ${flat.length}`,
    );
  }
  // the solver only reads: a float64 input needs no copy
  if (flat instanceof Float64Array) return { rows, cols, matrix: flat };
  if (ArrayBuffer.isView(flat)) return { rows, cols, matrix: Float64Array.from(flat) };
  const matrix = new Float64Array(rows * cols);
  for (let k = 0; k < matrix.length; k++) matrix[k] = numberAt(flat[k], Math.floor(k / cols), k % cols);
  return { rows, cols, matrix };
}

/** A row of a nested cost: a plain array or a typed array. */
function isRow(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function checkDimension(key: 'rows' | 'cols', given: number | undefined, actual: number): void {
  if (given !== undefined && given !== actual) {
    throw new ShapeError(
      `linearSumAssignment: options.${key} is ${given} but cost has ${actual} ${key === 'rows' ? 'rows' : 'columns'}`,
    );
  }
}

function numberAt(value: unknown, r: number, c: number): number {
  if (typeof value !== 'number') {
    throw new DataError(
      `linearSumAssignment: cost[${r}][${c}] must be a number, received ${describe(value)}`,
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value === 'object'
    ? (value.constructor?.name ?? 'object')
    : `${typeof value} ${String(value)}`;
}
