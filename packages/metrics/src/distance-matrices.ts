/**
 * The three distance matrices PointFlow's metrics need (generated×reference, generated×generated,
 * reference×reference), computed pair by pair on the host. The within-collection matrices are
 * symmetric, so only their upper triangle is computed (PointFlow computes all 3·K² pairs).
 *
 * Work is split into tasks of a few pairs, run by an executor: the single-threaded one here
 * (browser-safe, yields to the event loop between tasks) or the worker-thread pool of
 * `@setgen/metrics/node`. Memory: the three Float64 matrices, one k-d tree per cloud for CD
 * (a reordered copy of its points plus O(N/16) boxes), and per running EMD pair its N×N cost
 * matrix (32 MB at N = 2048) inside `earthMoversDistance`.
 */
import { earthMoversDistance, type HostSet } from '@setgen/ops';
import { exactEmdBelowCutoff } from '@setgen/ops/internal';
import { approxMatchDistance } from './approx-match.js';
import { type ChamferKernel, chamferKernel, type PointCloudIndex } from './chamfer-kernel.js';
import { emdBelowCutoff } from './emd-bounds.js';

/** Distance between two clouds: PointFlow's Chamfer ('cd') or the earth mover's distance ('emd'). */
export type CloudDistance = 'cd' | 'emd';

/**
 * EMD solver: the exact assignment (default), the ε-scaled auction (within ε of exact), or
 * PointFlow's `approxmatch` heuristic (`'pointflow-approx'`, to reproduce published numbers; not
 * an optimal transport, see approx-match.ts).
 */
export type EmdMethod = 'exact' | 'auction' | 'pointflow-approx';

/** Row-major matrices; see `matrix-metrics.ts` for the layout. */
export interface DistanceMatrices {
  nGen: number;
  nRef: number;
  /** `[nGen, nRef]`: d(generated g, reference r). */
  genRef: Float64Array;
  /** `[nGen, nGen]`, symmetric, zero diagonal. */
  genGen: Float64Array;
  /** `[nRef, nRef]`, symmetric, zero diagonal. */
  refRef: Float64Array;
}

/**
 * One evaluation: the clouds (generated first, then reference, indexed together) and the
 * distance to compute. Tasks are lists of pairs of these global indices.
 */
export interface PairwiseJob {
  clouds: readonly HostSet[];
  nGen: number;
  nRef: number;
  distance: CloudDistance;
  emd: EmdMethod;
}

/** Progress and cancellation shared by every long evaluation. */
export interface EvaluationControl {
  /** Called after every finished task with the number of pairs done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting rejects the evaluation with an `AbortError` (workers are terminated). */
  signal?: AbortSignal;
}

/**
 * A task handed out by a {@link TaskSource}: pairs of global cloud indices `[a0, b0, a1, b1, …]`
 * and, for exact-EMD jobs only, a cutoff per pair: the pair's EMD is computed only if its
 * nearest-neighbour lower bound (emd-bounds.ts) does not exceed the cutoff, and the solver
 * stops once its dual objective does; its values are then three per pair, `[EMD or NaN when cut
 * off, the best lower bound found (0 if the cutoff is ∞), 1 if the solver ran (else 0)]`. `nearestKnown[p]` = 1: the pair's
 * nearest-neighbour bound is known already (not computed again).
 */
export interface PairTask {
  pairs: Int32Array;
  cutoffs?: Float64Array;
  nearestKnown?: Uint8Array;
}

/**
 * Tasks produced while an evaluation runs (the pruned EMD search, emd-pruning.ts): `next()` is
 * called whenever a worker is free and returns a task, `null` when there will be no more, or a
 * promise of either (the next task depends on results still in flight).
 */
export interface TaskSource {
  /** The next task, `null` when there is none left, or a promise of either. */
  next(): PairTask | null | Promise<PairTask | null>;
}

/**
 * Runs the tasks of a job — a fixed list of pair lists, or a {@link TaskSource} — and calls
 * `done(task, values, pairs)` for each finished task with one distance per pair (two with
 * cutoffs, see {@link PairTask}); `task` is the list position, or the order in which a source's
 * tasks were handed out. Resolves when all are done; rejects on abort.
 */
export type PairwiseExecutor = (
  job: PairwiseJob,
  tasks: readonly Int32Array[] | TaskSource,
  done: (task: number, values: Float64Array, pairs: Int32Array) => void,
  signal?: AbortSignal,
) => Promise<void>;

/** A fixed list of tasks as a {@link TaskSource}. */
export function taskSource(tasks: readonly Int32Array[] | TaskSource): TaskSource {
  if (!Array.isArray(tasks)) return tasks as TaskSource;
  let next = 0;
  return { next: () => (next < tasks.length ? { pairs: tasks[next++] } : null) };
}

/**
 * Number of pairs an evaluation computes: nGen·nRef + one triangle of each within-collection
 * matrix, or both triangles for an asymmetric distance (`ordered`).
 */
export function pairCount(nGen: number, nRef: number, ordered = false): number {
  const within = (nGen * (nGen - 1)) / 2 + (nRef * (nRef - 1)) / 2;
  return nGen * nRef + (ordered ? 2 : 1) * within;
}

/** Whether a job's distance is asymmetric (PointFlow's approxmatch), so both triangles are needed. */
export function isOrdered(job: Pick<PairwiseJob, 'distance' | 'emd'>): boolean {
  return job.distance === 'emd' && job.emd === 'pointflow-approx';
}

/**
 * Splits all pairs into tasks of at most `pairsPerTask` pairs (flattened `[a0, b0, a1, b1, …]`
 * global cloud indices), row by row so that consecutive pairs share their first cloud.
 */
export function planTasks(nGen: number, nRef: number, pairsPerTask: number, ordered = false): Int32Array[] {
  const tasks: Int32Array[] = [];
  let current: number[] = [];
  const push = (a: number, b: number) => {
    current.push(a, b);
    if (current.length / 2 >= pairsPerTask) {
      tasks.push(Int32Array.from(current));
      current = [];
    }
  };
  const total = nGen + nRef;
  for (let a = 0; a < total; a++) {
    // generated a: every reference and the later generated; reference a: the later references
    for (let b = a + 1; b < total; b++) push(a, b);
    // an asymmetric distance also needs the lower triangles (a, b < a) of its own collection
    if (ordered) for (let b = a < nGen ? 0 : nGen; b < a; b++) push(a, b);
  }
  if (current.length > 0) tasks.push(Int32Array.from(current));
  return tasks;
}

/**
 * Writes the distances of one task into the matrices: entry [a][b] of pair (a, b), and also
 * [b][a] unless the distance is asymmetric (`ordered`).
 */
export function storeDistances(
  matrices: DistanceMatrices,
  pairs: Int32Array,
  values: Float64Array,
  ordered = false,
): void {
  const { nGen, nRef, genRef, genGen, refRef } = matrices;
  for (let p = 0; p < values.length; p++) {
    const a = pairs[2 * p];
    const b = pairs[2 * p + 1];
    const v = values[p];
    if (a < nGen && b >= nGen) {
      genRef[a * nRef + (b - nGen)] = v;
    } else if (a < nGen) {
      genGen[a * nGen + b] = v;
      if (!ordered) genGen[b * nGen + a] = v;
    } else {
      refRef[(a - nGen) * nRef + (b - nGen)] = v;
      if (!ordered) refRef[(b - nGen) * nRef + (a - nGen)] = v;
    }
  }
}

/** The error an aborted evaluation rejects with (`signal.reason` if it is an Error). */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const error = new Error('the evaluation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Default task size: about 50 ms of work, so progress is smooth and abort prompt. */
export function defaultPairsPerTask(distance: CloudDistance, n: number): number {
  if (distance === 'emd') return Math.max(1, Math.floor(2e6 / (n * n))); // exact EMD is ~O(N^2..3)
  return Math.max(1, Math.floor(1e6 / (n * Math.log2(n + 2))));
}

/** The three matrices of an evaluation, filled with zeros. */
export function emptyMatrices(nGen: number, nRef: number): DistanceMatrices {
  return {
    nGen,
    nRef,
    genRef: new Float64Array(nGen * nRef),
    genGen: new Float64Array(nGen * nGen),
    refRef: new Float64Array(nRef * nRef),
  };
}

/** Computes the three matrices of `job` with `executor`, reporting progress. */
export async function computeDistanceMatrices(
  job: PairwiseJob,
  executor: PairwiseExecutor,
  { onProgress, signal, pairsPerTask }: EvaluationControl & { pairsPerTask?: number } = {},
): Promise<DistanceMatrices> {
  const { nGen, nRef } = job;
  const matrices = emptyMatrices(nGen, nRef);
  const largest = job.clouds.reduce((m, c) => Math.max(m, c.n), 1);
  const ordered = isOrdered(job);
  const tasks = planTasks(nGen, nRef, pairsPerTask ?? defaultPairsPerTask(job.distance, largest), ordered);
  const total = pairCount(nGen, nRef, ordered);
  let done = 0;
  onProgress?.(0, total);
  await executor(
    job,
    tasks,
    (task, values) => {
      storeDistances(matrices, tasks[task], values, ordered);
      done += values.length;
      onProgress?.(done, total);
    },
    signal,
  );
  return matrices;
}

/**
 * The distance function of a job: CD through per-cloud k-d trees built here once, EMD through
 * `earthMoversDistance` of `@setgen/ops` (PointFlow's mean matched Euclidean distance).
 */
export function pairDistance(job: PairwiseJob): (a: number, b: number) => number {
  const method = job.emd;
  if (job.distance === 'emd' && method === 'pointflow-approx') {
    // asymmetric: PointFlow's M_rs = pairwise(ref, sample) puts the reference first; within a
    // collection entry [a][b] is approxmatch(a, b), as PointFlow's pairwise(A, A)
    const { clouds, nGen } = job;
    return (a, b) =>
      a < nGen && b >= nGen
        ? approxMatchDistance(clouds[b], clouds[a])
        : approxMatchDistance(clouds[a], clouds[b]);
  }
  if (job.distance === 'emd' && method !== 'pointflow-approx') {
    return (a, b) => earthMoversDistance(job.clouds[a], job.clouds[b], { method, pointReduction: 'mean' });
  }
  const kernel = chamferKernel();
  const indexes: PointCloudIndex[] = job.clouds.map((c) => kernel.buildIndex(c.values, c.n, c.d));
  return (a, b) => kernel.chamferMean(indexes[a], indexes[b]);
}

/** Single-threaded executor: runs the tasks in order, yielding to the event loop every ~50 ms. */
export const localExecutor: PairwiseExecutor = async (job, tasks, done, signal) => {
  const source = taskSource(tasks);
  const distance = pairDistance(job);
  let kernel: ChamferKernel | null = null;
  let indexes: PointCloudIndex[] = [];
  let lastYield = Date.now();
  for (let t = 0; ; t++) {
    if (signal?.aborted) throw abortError(signal);
    const task = await source.next();
    if (task === null) break;
    const { pairs, cutoffs } = task;
    const count = pairs.length / 2;
    let values: Float64Array;
    if (cutoffs) {
      if (!kernel) {
        kernel = chamferKernel();
        const { buildIndex } = kernel;
        indexes = job.clouds.map((c) => buildIndex(c.values, c.n, c.d));
      }
      values = new Float64Array(3 * count);
      for (let p = 0; p < count; p++) {
        const [a, b] = [pairs[2 * p], pairs[2 * p + 1]];
        const solve = (cutoff: number) =>
          exactEmdBelowCutoff(job.clouds[a], job.clouds[b], cutoff, { pointReduction: 'mean' });
        const known = task.nearestKnown?.[p] === 1;
        emdBelowCutoff(kernel, indexes[a], indexes[b], cutoffs[p], known, solve, values, 3 * p);
      }
    } else {
      values = new Float64Array(count);
      for (let p = 0; p < count; p++) values[p] = distance(pairs[2 * p], pairs[2 * p + 1]);
    }
    done(t, values, pairs);
    if (Date.now() - lastYield > 50) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = Date.now();
    }
  }
  if (signal?.aborted) throw abortError(signal);
};
