// Worker threads for the host kernels (Node only). The main entry stays browser-safe; this
// module swaps in a runner that spreads the sets of a neighbour job over a pool of threads.
// The tensor API is synchronous, so the calling thread takes a share of the sets itself and
// then blocks on Atomics.wait until the workers have written their results into shared memory.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type NeighbourJob, setNeighbourRunner, solveNeighbourTasks } from '../chamfer-host.js';
import { ConfigError, SetgenError } from '../errors.js';

/** Options of {@link useWorkerThreads}. */
export interface WorkerThreadsOptions {
  /** Threads in all, the calling one included; default `os.availableParallelism()`. */
  threads?: number;
  /** Jobs with fewer point pairs than this run on the calling thread; default 2²⁰. */
  minPairs?: number;
  /** Longest wait for a worker before giving up with an error, ms; default 60 000. */
  timeoutMs?: number;
}

// The worker runs the same kernel from its source text (it has no outer references), so
// this works from the built package and from TypeScript sources under vitest alike.
const workerSource = `
const { parentPort } = require('node:worker_threads');
const solveNeighbourTasks = (${solveNeighbourTasks.toString()});
parentPort.on('message', ({ job, first, last, done, slot }) => {
  let status = 1;
  try { solveNeighbourTasks(job, first, last); } catch { status = 2; }
  Atomics.store(done, slot, status);
  Atomics.notify(done, slot);
});
`;

function shared<T extends Float32Array | Float64Array | Int32Array>(source: T, copy: boolean): T {
  const Ctor = source.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(source.byteLength));
  if (copy) out.set(source as any);
  return out;
}

/** Point pairs of set `t`: its share of the work. */
function pairsOf(job: NeighbourJob, t: number): number {
  return (job.aStart[t + 1] - job.aStart[t]) * (job.bStart[t + 1] - job.bStart[t]);
}

function totalPairs(job: NeighbourJob): number {
  let total = 0;
  for (let t = 0; t + 1 < job.aStart.length; t++) total += pairsOf(job, t);
  return total;
}

/** Splits sets `0..T-1` into `parts` contiguous chunks of about equal work; chunk k = bounds[k]..bounds[k+1]. */
function splitByWork(job: NeighbourJob, parts: number): number[] {
  const sets = job.aStart.length - 1;
  const total = totalPairs(job);
  const bounds = [0];
  let done = 0;
  for (let t = 0; t < sets && bounds.length < parts; t++) {
    done += pairsOf(job, t);
    if (done >= (total * bounds.length) / parts) bounds.push(t + 1);
  }
  while (bounds.length <= parts) bounds.push(sets);
  return bounds;
}

/**
 * Runs the host nearest-neighbour kernels (Chamfer distance, tensor and host) on a pool of
 * worker threads, created on the first large job and kept alive (unref'd, so they never keep
 * the process alive).
 * Returns `stop()`, which ends the pool and goes back to the calling thread.
 */
export function useWorkerThreads(options: WorkerThreadsOptions = {}): () => void {
  const { threads = availableParallelism(), minPairs = 1 << 20, timeoutMs = 60_000 } = options;
  if (!(Number.isInteger(threads) && threads >= 1)) {
    throw new ConfigError(`threads: expected an integer >= 1, got ${threads}`);
  }
  if (!(minPairs >= 0)) throw new ConfigError(`minPairs: expected a number >= 0, got ${minPairs}`);
  // created on the first job that is worth spreading, then kept
  let workers: Worker[] = [];
  const pool = (): Worker[] => {
    if (workers.length === 0) {
      workers = Array.from({ length: threads - 1 }, () => {
        const worker = new Worker(workerSource, { eval: true });
        worker.unref();
        return worker;
      });
    }
    return workers;
  };

  setNeighbourRunner((job) => {
    const sets = job.aStart.length - 1;
    if (threads === 1 || sets < 2 || totalPairs(job) < minPairs) {
      solveNeighbourTasks(job, 0, sets);
      return;
    }
    const idle = pool();
    const parts = Math.min(threads, sets);
    const bounds = splitByWork(job, parts);
    const sharedJob: NeighbourJob = {
      ...job,
      a: shared(job.a, true),
      b: shared(job.b, true),
      aStart: shared(job.aStart, true),
      bStart: shared(job.bStart, true),
      aMin: shared(job.aMin, false),
      aArg: shared(job.aArg, false),
      bMin: shared(job.bMin, false),
      bArg: shared(job.bArg, false),
    };
    const done = new Int32Array(new SharedArrayBuffer(4 * (parts - 1)));
    for (let w = 1; w < parts; w++) {
      idle[w - 1].postMessage({
        job: sharedJob,
        first: bounds[w],
        last: bounds[w + 1],
        done,
        slot: w - 1,
      });
    }
    solveNeighbourTasks(sharedJob, bounds[0], bounds[1]);
    for (let w = 0; w < parts - 1; w++) {
      if (Atomics.wait(done, w, 0, timeoutMs) === 'timed-out' || Atomics.load(done, w) !== 1) {
        throw new SetgenError(`useWorkerThreads: worker ${w + 1} failed or timed out after ${timeoutMs} ms`);
      }
    }
    job.aMin.set(sharedJob.aMin);
    job.aArg.set(sharedJob.aArg);
    job.bMin.set(sharedJob.bMin);
    job.bArg.set(sharedJob.bArg);
  });

  return () => {
    setNeighbourRunner();
    for (const worker of workers) void worker.terminate();
  };
}
