// The PointFlow protocol under exact EMD with and without pruning (emd-pruning.ts), on synthetic
// category collections (category-clouds.mjs), through the worker pool of `@setgen/metrics/node`.
//   node bench/emd-pruning.bench.mjs [--k 100] [--n 2048] [--family ellipsoid|airplane]
//     [--noise 0.01] [--workers 2] [--seed 1] [--cd] [--full]
// One JSON line per run: wall and CPU time (process.cpuUsage: all threads), the exact pairs
// solved of the full matrices' total, the solver runs stopped at their cutoff (a dual bound
// above the search's best value), the CPU per solved pair, and the unpruned protocol's
// projection from that per-pair CPU (total pairs × CPU per pair ÷ workers). `--cd` also times
// the CD metrics; `--full` also runs `emdPruning: 'none'` and checks that the metrics are equal.
import { loadavg } from 'node:os';
import { computeAllMetrics, EVALUATED_PAIRS } from '../dist/node.js';
import { benchCollections } from './category-clouds.mjs';

const { k, n, family, noise, workers, seed, reference, generated } = benchCollections();

async function timed(options) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let last = -1;
  const onProgress = (done, total) => {
    const tenth = Math.floor((10 * done) / total);
    if (tenth <= last) return;
    last = tenth;
    const ms = Math.round(performance.now() - start);
    console.error(`${options.emdPruning ?? 'bounds'}: ${tenth * 10} % after ${ms} ms`);
  };
  const metrics = await computeAllMetrics(generated, reference, { workers, onProgress, ...options });
  const wall = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  return { metrics, wall, cpu: (user + system) / 1000 };
}

const line = (name, fields) =>
  console.log(JSON.stringify({ name, family, k, n, noise, workers, seed, ...fields }));

if (process.argv.includes('--cd')) {
  const { wall, cpu, metrics } = await timed({ distances: ['cd'] });
  line('metrics_cd', {
    wall_ms: Math.round(wall),
    cpu_ms: Math.round(cpu),
    pairs: metrics[EVALUATED_PAIRS].cd.total,
  });
}

const pruned = await timed({ distances: ['emd'] });
const { computed, total, stopped = 0 } = pruned.metrics[EVALUATED_PAIRS].emd;
const perPair = pruned.cpu / computed;
line('metrics_emd_pruned', {
  wall_ms: Math.round(pruned.wall),
  cpu_ms: Math.round(pruned.cpu),
  exact_pairs: computed,
  stopped_pairs: stopped,
  total_pairs: total,
  fraction: +(computed / total).toFixed(4),
  cpu_per_solver_run_ms: +(pruned.cpu / (computed + stopped)).toFixed(1),
  load: +loadavg()[0].toFixed(1),
  cpu_per_solved_pair_ms: +perPair.toFixed(1),
  unpruned_projection_ms: Math.round((total * perPair) / workers),
  metrics: { ...pruned.metrics },
});

if (process.argv.includes('--full')) {
  const full = await timed({ distances: ['emd'], emdPruning: 'none' });
  const same = JSON.stringify({ ...full.metrics }) === JSON.stringify({ ...pruned.metrics });
  line('metrics_emd_full', {
    wall_ms: Math.round(full.wall),
    cpu_ms: Math.round(full.cpu),
    exact_pairs: full.metrics[EVALUATED_PAIRS].emd.computed,
    cpu_per_pair_ms: +(full.cpu / full.metrics[EVALUATED_PAIRS].emd.computed).toFixed(1),
    same_metrics: same,
    metrics: { ...full.metrics },
  });
  if (!same) process.exitCode = 1;
}
