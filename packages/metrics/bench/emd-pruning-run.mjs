// One pruned exact-EMD PointFlow evaluation at any size, resumable: every solver result (an
// exact EMD, or a bound above the cutoff it was given) is appended to a cache file, and a
// restarted run answers the search's tasks from it — an exact value always, a stopped one when
// its bound still exceeds the new task's cutoff — so only the pairs not yet solved cost time.
// The search is the library's (`computePrunedEmdMatrices` over the worker pool); the clouds are
// bench/category-clouds.mjs's synthetic categories (K references, K generated with noise).
//   node bench/emd-pruning-run.mjs --k 400 --family airplane [--n 2048] [--seed 1] [--noise 0.01]
//     [--workers 2] [--dir emd-runs] [--pivots P (default: pivotCount(2K))]
// Writes <dir>/<family>-k<K>-n<N>-s<seed>.cache (one line per solver result: a b exact bound
// solverRan) and appends to <dir>/<family>-k<K>-n<N>-s<seed>.log one JSON line a minute
// (progress) and one at the end (`"name":"emd_pruning_run"`: metrics, pairs solved / stopped /
// answered from the cache, wall and CPU of this segment, CPU per solver run, load average).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { computePrunedEmdMatrices, metricsFromMatrices, workerExecutor } from '../dist/node.js';
import { benchArg, benchCollections } from './category-clouds.mjs';

const { k, n, family, workers, seed, reference, generated } = benchCollections();
const dir = benchArg('dir', 'emd-runs');
const pivots = benchArg('pivots') === undefined ? undefined : Number(benchArg('pivots'));
mkdirSync(dir, { recursive: true });
const stem = join(dir, `${family}-k${k}-n${n}-s${seed}${pivots === undefined ? '' : `-p${pivots}`}`);
const cacheFile = `${stem}.cache`;
const logFile = `${stem}.log`;

// the same clouds as emd-pruning.bench.mjs for the same arguments
const clouds = [...generated, ...reference];
const K = clouds.length;

// pair (lo, hi) → [exact or NaN, bound, solver ran]
const cache = new Map();
if (existsSync(cacheFile)) {
  for (const line of readFileSync(cacheFile, 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length !== 5) continue; // a torn last line
    const key = Number(f[0]) * K + Number(f[1]);
    const entry = [Number(f[2]), Number(f[3]), Number(f[4])];
    const old = cache.get(key);
    if (!old || Number.isNaN(old[0])) cache.set(key, entry); // an exact value is never replaced
  }
}
const cachedAtStart = cache.size;

const count = { solved: 0, stopped: 0, skippedByNearest: 0, fromCache: 0 };
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const status = (name, extra = {}) => {
  const { user, system } = process.cpuUsage(cpu0);
  const runs = count.solved + count.stopped;
  const cpuMs = (user + system) / 1000;
  return {
    name,
    family,
    k,
    n,
    seed,
    workers,
    ...count,
    cached_at_start: cachedAtStart,
    wall_s: Math.round((performance.now() - t0) / 1000),
    cpu_s: Math.round(cpuMs / 1000),
    cpu_per_solver_run_ms: runs ? +(cpuMs / runs).toFixed(1) : null,
    load: +loadavg()[0].toFixed(1),
    time: new Date().toISOString(),
    ...extra,
  };
};
const log = (record) => appendFileSync(logFile, `${JSON.stringify(record)}\n`);
const ticker = setInterval(() => log(status('emd_pruning_progress')), 60_000);

/** The worker pool, with the cache in front: cached answers never reach a worker. */
const pool = workerExecutor({ workers });
const cachedExecutor = (job, tasks, done, signal) => {
  const usable = (task) => {
    const [a, b] = task.pairs;
    const hit = cache.get(a * K + b);
    if (!hit) return null;
    if (!Number.isNaN(hit[0])) return hit; // exact
    return hit[1] > task.cutoffs[0] ? hit : null; // a bound above this task's cutoff too
  };
  const source = {
    async next() {
      for (;;) {
        const task = await tasks.next();
        if (task === null) return null;
        const hit = usable(task);
        if (!hit) return task;
        count.fromCache++;
        done(-1, Float64Array.from(hit), task.pairs);
      }
    },
  };
  return pool(
    job,
    source,
    (task, values, pairs) => {
      if (!Number.isNaN(values[0])) count.solved++;
      else if (values[2] === 1) count.stopped++;
      else count.skippedByNearest++;
      if (values[2] === 1) {
        cache.set(pairs[0] * K + pairs[1], [...values]);
        appendFileSync(cacheFile, `${pairs[0]} ${pairs[1]} ${values[0]} ${values[1]} ${values[2]}\n`);
      }
      done(task, values, pairs);
    },
    signal,
  );
};

const { matrices, pairs } = await computePrunedEmdMatrices(
  { clouds, nGen: k, nRef: k, distance: 'emd', emd: 'exact' },
  cachedExecutor,
  { pivots },
);
clearInterval(ticker);
const metrics = metricsFromMatrices(matrices);
const record = status('emd_pruning_run', {
  exact_pairs: pairs.computed,
  total_pairs: pairs.total,
  fraction: +(pairs.computed / pairs.total).toFixed(4),
  metrics: { 'MMD-EMD': metrics.MMD, 'COV-EMD': metrics.COV, '1-NNA-EMD': metrics['1-NNA'] },
});
log(record);
console.log(JSON.stringify(record));
