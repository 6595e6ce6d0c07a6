/**
 * PointFlow's EMD metrics without the full EMD matrices: MMD, COV and 1-NNA only read row
 * minima — for each reference the nearest generated cloud (MMD), for each generated cloud the
 * first nearest reference (COV), for each of the K = nGen + nRef clouds the first nearest other
 * cloud in the pooled order [references…, generated…] (1-NNA). Each is a nearest-neighbour
 * search that evaluates exact EMDs in increasing lower-bound order (emd-bounds.ts) and stops
 * when the next bound exceeds the best exact value found: a skipped pair's EMD is provably
 * larger than that row's minimum, or equal and later in the row's tie order.
 *
 * 1. **Pivots** (LAESA): exact EMDs from P clouds to all others, picked farthest-first (each
 *    the cloud farthest from the pivots so far); with the centroids they bound every pair,
 *    LB(a, b) = max(‖ā − b̄‖, max_p |W(a, p) − W(b, p)|).
 * 2. **Searches**, all at once: each takes its next candidate in bound order, with the
 *    search's best value (+ slack) as the pair's cutoff: the worker computes the
 *    nearest-neighbour bound and skips the solver when it exceeds the cutoff, and the solver
 *    itself stops once its dual objective (a lower bound) does (`exactEmdBelowCutoff` of
 *    `@setgen/ops/internal`); either bound joins the pair's lower bound. Every exact value is
 *    shared by the searches of both its clouds (a pair serves its row and its column).
 *
 * The result is the three matrices with +∞ for pairs never computed, so the metrics code reads
 * them unchanged and returns the same numbers as the full matrices, tie-breaking included.
 * Tasks are single pairs, handed to whichever worker is free; when every search waits for a
 * pair in flight, a search takes its next candidate ahead (speculation: a free core would idle).
 */
import type {
  DistanceMatrices,
  EvaluationControl,
  PairTask,
  PairwiseExecutor,
  PairwiseJob,
  TaskSource,
} from './distance-matrices.js';
import { computeDistanceMatrices, emptyMatrices } from './distance-matrices.js';
import { boundSlack, centroidDistance, centroids } from './emd-bounds.js';

/** `'bounds'`: the pruned search above (exact EMD only); `'none'`: every pair. */
export type EmdPruning = 'bounds' | 'none';

/** How many pairs an evaluation computed. */
export interface PairCounts {
  /** Pairs whose distance was computed. */
  computed: number;
  /** Pairs of the full matrices (the unpruned evaluation's work). */
  total: number;
  /**
   * Pruned exact EMD only: solver runs that stopped early, their EMD proved above the search's
   * cutoff (not in `computed`).
   */
  stopped?: number;
}

/** Number of pivots (exact rows) of a K-cloud evaluation: more clouds amortise more rows. */
export function pivotCount(clouds: number): number {
  return Math.min(clouds - 1, Math.max(2, Math.round(Math.sqrt(clouds) / 2)));
}

/**
 * The three kinds of nearest-neighbour searches and their tie orders: MMD, a reference
 * against the generated clouds (order: generated index); COV, a generated cloud against the
 * references (order: reference index); 1-NNA, a cloud against all others (order: references,
 * then generated).
 */
type Search = 'mmd' | 'cov' | 'nna';

interface NearestSearch {
  kind: Search;
  /** Global index of the cloud searched for. */
  self: number;
  /** Candidate global indices, sorted by lower bound (then tie order). */
  candidates: Int32Array;
  /** The lower bound each candidate was sorted by. */
  keys: Float64Array;
  /** Candidates before `pos` are decided (exact, or ruled out). */
  pos: number;
  best: number;
  bestRank: number;
}

/**
 * The EMD matrices of `job` (exact EMD, symmetric) with only the pairs the metrics need
 * computed exactly, +∞ elsewhere; see the file comment.
 */
export async function computePrunedEmdMatrices(
  job: PairwiseJob,
  executor: PairwiseExecutor,
  { onProgress, signal, pivots }: EvaluationControl & { pivots?: number } = {},
): Promise<{ matrices: DistanceMatrices; pairs: PairCounts }> {
  const { clouds, nGen, nRef } = job;
  const K = nGen + nRef;
  const total = nGen * nRef + (nGen * (nGen - 1)) / 2 + (nRef * (nRef - 1)) / 2;
  if (K < 3) {
    // nothing to prune: every pair is needed
    const matrices = await computeDistanceMatrices(job, executor, { onProgress, signal });
    return { matrices, pairs: { computed: total, total } };
  }
  const slack = boundSlack(clouds);
  const d = clouds[0].d;
  const means = centroids(clouds);
  const exact = new Float64Array(K * K).fill(Number.NaN);
  const lower = new Float64Array(K * K);
  const nearestKnown = new Uint8Array(K * K);
  const inFlight = new Uint8Array(K * K);
  let flying = 0;
  let computed = 0;
  let stopped = 0;
  for (let a = 0; a < K; a++) exact[a * K + a] = 0;

  const pairTask = (a: number, b: number, cutoff: number): PairTask => {
    const [lo, hi] = a < b ? [a, b] : [b, a]; // the order the full matrices use
    inFlight[lo * K + hi] = 1;
    flying++;
    return {
      pairs: Int32Array.of(lo, hi),
      cutoffs: Float64Array.of(cutoff),
      nearestKnown: Uint8Array.of(nearestKnown[lo * K + hi]),
    };
  };

  // --- phase 1: pivot rows, farthest-first ---
  const pivotTotal = Math.min(K - 1, pivots ?? pivotCount(K));
  const pivotList: number[] = [];
  const nearestPivot = new Float64Array(K).fill(Number.POSITIVE_INFINITY);
  {
    // the first pivot: the cloud whose centroid is nearest the mean centroid
    let first = 0;
    const mean = new Float64Array(d);
    for (let a = 0; a < K; a++) for (let c = 0; c < d; c++) mean[c] += means[a * d + c] / K;
    let nearest = Number.POSITIVE_INFINITY;
    for (let a = 0; a < K; a++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (means[a * d + c] - mean[c]) ** 2;
      if (s < nearest) [nearest, first] = [s, a];
    }
    pivotList.push(first);
  }
  let pivotNext = 0; // next cloud of the current pivot's row to hand out

  // --- phase 2: the searches ---
  const searches: NearestSearch[] = [];
  let active: NearestSearch[] = [];
  let cursor = 0;
  let resolved = 0;
  const rank = (s: NearestSearch, c: number) =>
    s.kind === 'mmd' ? c : s.kind === 'cov' ? c - nGen : c >= nGen ? c - nGen : nRef + c;
  const consider = (s: NearestSearch, c: number, value: number) => {
    const r = rank(s, c);
    if (value < s.best || (value === s.best && r < s.bestRank)) [s.best, s.bestRank] = [value, r];
  };
  // whether candidate c (bound `bound`, without slack) cannot be the search's first minimum
  const ruledOut = (s: NearestSearch, c: number, bound: number) =>
    bound - slack > s.best || (bound - slack === s.best && rank(s, c) > s.bestRank);

  const startSearches = () => {
    for (let a = 0; a < K; a++) {
      for (let b = a + 1; b < K; b++) {
        let bound = centroidDistance(means, d, a, b);
        for (const p of pivotList) bound = Math.max(bound, Math.abs(exact[a * K + p] - exact[b * K + p]));
        const k = a * K + b;
        lower[k] = Math.max(lower[k], bound);
        lower[b * K + a] = lower[k];
      }
    }
    const make = (kind: Search, self: number, candidates: number[]) => {
      const list = Int32Array.from(candidates.filter((c) => c !== self));
      const s: NearestSearch = {
        kind,
        self,
        candidates: list,
        keys: new Float64Array(list.length),
        pos: 0,
        best: Number.POSITIVE_INFINITY,
        bestRank: Number.POSITIVE_INFINITY,
      };
      list.sort((x, y) => lower[self * K + x] - lower[self * K + y] || rank(s, x) - rank(s, y));
      for (let i = 0; i < list.length; i++) {
        s.keys[i] = lower[self * K + list[i]];
        const v = exact[self * K + list[i]];
        if (!Number.isNaN(v)) consider(s, list[i], v);
      }
      searches.push(s);
    };
    const gens = Array.from({ length: nGen }, (_, g) => g);
    const refs = Array.from({ length: nRef }, (_, r) => nGen + r);
    for (const r of refs) make('mmd', r, gens);
    for (const g of gens) make('cov', g, refs);
    for (let a = 0; a < K; a++) make('nna', a, [...refs, ...gens]);
    active = [...searches];
  };

  // moves `s.pos` over decided candidates; returns the first undecided one, or -1 if s is done
  const advance = (s: NearestSearch): number => {
    while (s.pos < s.candidates.length) {
      const c = s.candidates[s.pos];
      const k = s.self * K + c;
      if (!Number.isNaN(exact[k])) {
        consider(s, c, exact[k]);
      } else if (s.keys[s.pos] - slack > s.best) {
        s.pos = s.candidates.length; // every later candidate's bound is at least this one
        break;
      } else if (!ruledOut(s, c, lower[k])) {
        return c;
      }
      s.pos++;
    }
    return -1;
  };
  // a task for the search's candidate c: the cutoff lets the worker skip it by the NN bound
  // or stop the solver once its dual objective passes the search's best value
  const taskFor = (s: NearestSearch, c: number): PairTask => pairTask(s.self, c, s.best + slack);
  const inFlightPair = (a: number, c: number) => inFlight[a < c ? a * K + c : c * K + a] === 1;
  // the next pair some search needs; `ahead` also looks past candidates in flight (≤ 3 of them)
  const pickSearch = (ahead: boolean): PairTask | null => {
    let visited = 0;
    while (visited < active.length) {
      if (cursor >= active.length) cursor = 0;
      const s = active[cursor];
      const c = advance(s);
      if (c < 0) {
        active[cursor] = active[active.length - 1];
        active.pop();
        resolved++;
        continue;
      }
      cursor++;
      visited++;
      if (!inFlightPair(s.self, c)) return taskFor(s, c);
      if (!ahead) continue;
      let waiting = 0;
      for (let i = s.pos + 1; i < s.candidates.length && waiting < 3; i++) {
        const e = s.candidates[i];
        const k = s.self * K + e;
        if (s.keys[i] - slack > s.best) break;
        if (!Number.isNaN(exact[k]) || ruledOut(s, e, lower[k])) continue;
        if (!inFlightPair(s.self, e)) return taskFor(s, e);
        waiting++;
      }
    }
    return null;
  };

  const pickPivot = (): PairTask | null | 'wait' => {
    const p = pivotList[pivotList.length - 1];
    while (pivotNext < K) {
      const x = pivotNext++;
      if (x !== p && Number.isNaN(exact[p * K + x]) && !inFlightPair(p, x))
        return pairTask(p, x, Number.POSITIVE_INFINITY);
    }
    if (flying > 0) return 'wait';
    // the row is complete: the next pivot is the cloud farthest from all pivots so far
    for (let x = 0; x < K; x++) nearestPivot[x] = Math.min(nearestPivot[x], exact[p * K + x]);
    if (pivotList.length < pivotTotal) {
      let far = -1;
      for (let x = 0; x < K; x++) if (far < 0 || nearestPivot[x] > nearestPivot[far]) far = x;
      if (nearestPivot[far] > 0) {
        pivotList.push(far);
        pivotNext = 0;
        return pickPivot();
      }
    }
    pivotNext = -1;
    startSearches();
    return null;
  };

  const waiters: ((task: PairTask | null | Promise<PairTask | null>) => void)[] = [];
  const next = (): PairTask | null | Promise<PairTask | null> => {
    if (pivotNext >= 0) {
      const task = pickPivot();
      if (task === 'wait') return new Promise((resolve) => waiters.push(resolve));
      if (task !== null) return task;
    }
    const task = pickSearch(false) ?? pickSearch(true);
    if (task !== null) return task;
    if (flying > 0) return new Promise((resolve) => waiters.push(resolve));
    return null;
  };
  const source: TaskSource = { next };

  onProgress?.(0, total);
  const queries = nRef + nGen + K;
  let reported = 0;
  await executor(
    job,
    source,
    (_task, values, pairs) => {
      const [a, b] = [pairs[0], pairs[1]];
      const [k, t] = [a * K + b, b * K + a];
      inFlight[k] = 0;
      flying--;
      if (!Number.isNaN(values[0])) {
        exact[k] = exact[t] = values[0];
        computed++;
      } else if (values[2] === 1) {
        stopped++;
      }
      if (values[1] > 0) nearestKnown[k] = nearestKnown[t] = 1;
      lower[k] = lower[t] = Math.max(lower[k], values[1]);
      // an estimate: the pivot rows as the first tenth, then the finished searches
      const share =
        pivotNext >= 0 ? (0.1 * computed) / (pivotTotal * (K - 1)) : 0.1 + (0.9 * resolved) / queries;
      const done = Math.min(total, Math.floor(total * share));
      if (done > reported) {
        reported = done;
        onProgress?.(done, total);
      }
      for (const resolve of waiters.splice(0)) resolve(next());
    },
    signal,
  );
  if (reported < total) onProgress?.(total, total);

  const matrices = emptyMatrices(nGen, nRef);
  const value = (a: number, b: number) =>
    Number.isNaN(exact[a * K + b]) ? Number.POSITIVE_INFINITY : exact[a * K + b];
  for (let g = 0; g < nGen; g++) {
    for (let r = 0; r < nRef; r++) matrices.genRef[g * nRef + r] = value(g, nGen + r);
    for (let h = 0; h < nGen; h++) matrices.genGen[g * nGen + h] = value(g, h);
  }
  for (let r = 0; r < nRef; r++)
    for (let s = 0; s < nRef; s++) matrices.refRef[r * nRef + s] = value(nGen + r, nGen + s);
  return { matrices, pairs: { computed, total, stopped } };
}
