/**
 * A `node:worker_threads` executor for the pairwise matrices (Node only; see node.ts).
 *
 * The clouds are shared, not copied: the main thread builds every cloud's k-d tree once into
 * SharedArrayBuffers (its reordered points double as the cloud for EMD, which does not depend
 * on point order) and posts them to each worker. Workers evaluate the Chamfer kernel from its
 * source text (so the pool also runs from TypeScript sources, e.g. under vitest) and import
 * `@setgen/ops` by its resolved URL for EMD. Tasks are handed out one at a time to whichever
 * worker is free; aborting terminates the workers at once.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { approxMatchDistance } from './approx-match.js';
import { chamferKernel, type PointCloudIndex } from './chamfer-kernel.js';
import { abortError, type PairTask, type PairwiseExecutor, taskSource } from './distance-matrices.js';
import { emdBelowCutoff } from './emd-bounds.js';

// Runs inside each worker (CommonJS eval context).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const kernel = (${chamferKernel.toString()})();
const approxMatchDistance = ${approxMatchDistance.toString()};
const emdBelowCutoff = ${emdBelowCutoff.toString()};
let job = null;
let ops = null;
let opsInternal = null;
parentPort.on('message', async (message) => {
  try {
    if (message.type === 'job') {
      job = message;
      if (job.distance === 'emd' && job.emd !== 'pointflow-approx' && !ops) {
        ops = await import(job.opsUrl);
        opsInternal = await import(job.opsInternalUrl);
        if (typeof ops.earthMoversDistance !== 'function' || typeof opsInternal.exactEmdBelowCutoff !== 'function') {
          throw new Error(job.opsUrl + ' has no earthMoversDistance or exactEmdBelowCutoff (is the build of @setgen/ops stale?)');
        }
      }
      parentPort.postMessage({ type: 'ready' });
      return;
    }
    const pairs = message.pairs;
    const indexes = job.indexes;
    if (message.cutoffs) {
      // pruned exact EMD: [EMD or NaN, lower bound, solver ran] per pair
      const values = new Float64Array(3 * pairs.length / 2);
      for (let p = 0; p < pairs.length / 2; p++) {
        const a = indexes[pairs[2 * p]];
        const b = indexes[pairs[2 * p + 1]];
        const solve = (cutoff) => opsInternal.exactEmdBelowCutoff(
          { values: a.points, n: a.n, d: a.d }, { values: b.points, n: b.n, d: b.d },
          cutoff, { pointReduction: 'mean' });
        const known = message.nearestKnown ? message.nearestKnown[p] === 1 : false;
        emdBelowCutoff(kernel, a, b, message.cutoffs[p], known, solve, values, 3 * p);
      }
      parentPort.postMessage({ type: 'done', task: message.task, values }, [values.buffer]);
      return;
    }
    const values = new Float64Array(pairs.length / 2);
    for (let p = 0; p < values.length; p++) {
      const a = indexes[pairs[2 * p]];
      const b = indexes[pairs[2 * p + 1]];
      const setA = { values: a.points, n: a.n, d: a.d };
      const setB = { values: b.points, n: b.n, d: b.d };
      if (job.distance === 'cd') values[p] = kernel.chamferMean(a, b);
      else if (job.emd !== 'pointflow-approx') {
        values[p] = ops.earthMoversDistance(setA, setB, { method: job.emd, pointReduction: 'mean' });
      } else if (pairs[2 * p] < job.nGen && pairs[2 * p + 1] >= job.nGen) {
        values[p] = approxMatchDistance(setB, setA); // reference first, as PointFlow's M_rs
      } else values[p] = approxMatchDistance(setA, setB);
    }
    parentPort.postMessage({ type: 'done', task: message.task, values }, [values.buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.stack || error) });
  }
});
`;

/** Options of {@link workerExecutor}. */
export interface WorkerPoolOptions {
  /** Number of worker threads; default `os.availableParallelism()`. */
  workers?: number;
}

function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
}

/**
 * A worker evaluating `source` with the parent's `execArgv`. V8 flags the parent was started with
 * (`node --experimental-wasm-relaxed-simd`, `--max-old-space-size=…`) are process-wide, so a
 * worker has them already, and Node refuses them in a worker's execArgv
 * (ERR_WORKER_INVALID_EXEC_ARGV, thrown at once, naming them): those are dropped and the worker
 * started again without them.
 */
export function startWorker(source: string, execArgv: string[]): Worker {
  try {
    return new Worker(source, { eval: true, execArgv });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const refused =
      code === 'ERR_WORKER_INVALID_EXEC_ARGV'
        ? String(message).split(': ').slice(1).join(': ').split(', ')
        : [];
    const kept = execArgv.filter((arg) => !refused.includes(arg));
    if (kept.length === execArgv.length) throw error;
    return new Worker(source, { eval: true, execArgv: kept });
  }
}

/** An executor that spreads the tasks over worker threads. */
export function workerExecutor({ workers }: WorkerPoolOptions = {}): PairwiseExecutor {
  return async (job, tasks, done, signal) => {
    if (signal?.aborted) throw abortError(signal);
    const kernel = chamferKernel();
    const indexes: PointCloudIndex[] = job.clouds.map((c) =>
      kernel.buildIndex(c.values, c.n, c.d, sharedFloat64),
    );
    const opsUrl = import.meta.resolve('@setgen/ops');
    const opsInternalUrl = import.meta.resolve('@setgen/ops/internal');
    const wanted = workers ?? availableParallelism();
    const count = Math.max(1, Array.isArray(tasks) ? Math.min(wanted, tasks.length) : wanted);
    // The worker source is CommonJS: a parent started with --input-type=module (e.g.
    // `node --input-type=module -e …`) must not pass that flag on to it.
    const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
    const pool = Array.from({ length: count }, () => startWorker(WORKER_SOURCE, execArgv));
    const source = taskSource(tasks);
    const running = new Map<number, PairTask>();
    let handedOut = 0;
    let exhausted = false;
    let onAbort = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (error: Error) => reject(error);
        onAbort = () => reject(abortError(signal as AbortSignal));
        signal?.addEventListener('abort', onAbort, { once: true });
        // asks the source for the worker's next task (it may wait for results in flight)
        const feed = async (worker: Worker) => {
          const task = await source.next();
          if (task === null) {
            exhausted = true;
            if (running.size === 0) resolve();
            return;
          }
          const id = handedOut++;
          running.set(id, task);
          const { pairs, cutoffs, nearestKnown } = task;
          worker.postMessage({ type: 'task', task: id, pairs, cutoffs, nearestKnown });
        };
        const feedOrFail = (worker: Worker) => feed(worker).catch(fail);
        for (const worker of pool) {
          worker.on('error', fail);
          worker.on(
            'message',
            (message: { type: string; task: number; values: Float64Array; message: string }) => {
              if (message.type === 'error')
                return fail(new Error(`metrics worker failed: ${message.message}`));
              if (message.type === 'ready') return feedOrFail(worker);
              const task = running.get(message.task) as PairTask;
              running.delete(message.task);
              try {
                done(message.task, message.values, task.pairs);
              } catch (error) {
                return fail(error as Error);
              }
              if (exhausted && running.size === 0) return resolve();
              feedOrFail(worker);
            },
          );
          worker.postMessage({
            type: 'job',
            distance: job.distance,
            emd: job.emd,
            nGen: job.nGen,
            indexes,
            opsUrl,
            opsInternalUrl,
          });
        }
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await Promise.all(pool.map((worker) => worker.terminate()));
    }
  };
}
