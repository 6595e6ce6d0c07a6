// Benchmarks of @setgen/metrics (built dist), named like shared/peer/peer_bench.py.
//   node bench/metrics.bench.mjs [--only prefix ...] [--full]
// `--full` also runs the complete 100×100×2048 evaluation under exact EMD once (hours on 2 cores).
import { availableParallelism } from 'node:os';
import { earthMoversDistance, Random } from '@setgen/ops';
import { bench, selected } from '../../../scripts/bench-harness.mjs';
import {
  approxMatchDistance,
  chamferKernel,
  computeAllMetrics as computeAllMetricsSingle,
  jsdBetweenPointCloudSets,
} from '../dist/index.js';
import { computeAllMetrics } from '../dist/node.js';

const full = process.argv.includes('--full');
const cores = availableParallelism();

/** K clouds of N uniform points in [−0.5, 0.5]³ (as the peer: torch.rand − 0.5). */
function clouds(seed, k, n) {
  const random = new Random(seed);
  return Array.from({ length: k }, () => ({
    values: Float32Array.from({ length: n * 3 }, () => random.next() - 0.5),
    n,
    d: 3,
  }));
}

const pairs = (k) => k * k + k * (k - 1); // nGen·nRef + both triangles, nGen = nRef = k
const gen = clouds(1, 100, 2048);
const ref = clouds(2, 100, 2048);

// the headline: MMD/COV/1-NNA-CD, 100 vs 100 clouds of 2048 points, all cores
await bench('metrics_cd_100x100_n2048', () => computeAllMetrics(gen, ref, { distances: ['cd'] }), {
  runs: 3,
  warmup: 0,
  backend: 'host',
  extra: { workers: cores, pairs: pairs(100), peer_ms: 887033 },
});
await bench(
  'metrics_cd_100x100_n2048_single_thread',
  () => computeAllMetricsSingle(gen, ref, { distances: ['cd'] }),
  {
    runs: 1,
    warmup: 0,
    backend: 'host',
    extra: { workers: 1, pairs: pairs(100) },
  },
);
// one PointFlow row (1 cloud against 100 = 100 CD pairs), the unit the peer times; includes
// building the 101 k-d trees, which a full evaluation amortises over 199 pairs each
const kernel = chamferKernel();
await bench(
  'metrics_cd_row_1x100_n2048',
  () => {
    const query = kernel.buildIndex(gen[0].values, 2048, 3);
    for (const r of ref) kernel.chamferMean(query, kernel.buildIndex(r.values, 2048, 3));
  },
  { runs: 7, warmup: 1, backend: 'host', extra: { pairs: 100, peer_ms: 2956.8 } },
);

// exact EMD of 2048 points: time per pair, extrapolated to a full 100×100 evaluation
for (const method of ['exact', 'auction']) {
  const name = `emd_${method}_n2048_pair`;
  if (!selected(name) && !selected('metrics_emd')) continue;
  const [a, b] = clouds(3, 2, 2048);
  const line = await bench(name, () => earthMoversDistance(a, b, { method }), {
    runs: 3,
    warmup: 1,
    backend: 'host',
    extra: { peer_exact_ms: 708.7 },
  });
  if (line) {
    const perCoreMs = line.median_ms * pairs(100);
    console.log(
      JSON.stringify({
        name: `metrics_emd_${method}_100x100_n2048_extrapolated`,
        median_ms: Math.round(perCoreMs / cores),
        derived: true,
        workers: cores,
        pairs: pairs(100),
        single_core_ms: Math.round(perCoreMs),
        peer_exact_pointflow_ms: Math.round(708.7 * 30000),
      }),
    );
  }
}

// PointFlow's approxmatch (what its papers report), per pair
{
  const [a, b] = clouds(3, 2, 2048);
  await bench('emd_pointflow_approx_n2048_pair', () => approxMatchDistance(a, b), {
    runs: 3,
    warmup: 1,
    backend: 'host',
  });
}

// a real (small) EMD evaluation through the worker pool, to check the extrapolation
await bench(
  'metrics_emd_exact_4x4_n2048',
  () => computeAllMetrics(gen.slice(0, 4), ref.slice(0, 4), { distances: ['emd'] }),
  { runs: 1, warmup: 0, backend: 'host', extra: { workers: cores, pairs: pairs(4) } },
);

await bench('jsd_100x100_n2048', () => jsdBetweenPointCloudSets(gen, ref), {
  runs: 3,
  warmup: 1,
  backend: 'host',
});

if (full) {
  await bench('metrics_all_100x100_n2048_full', () => computeAllMetrics(gen, ref, { emd: 'exact' }), {
    runs: 1,
    warmup: 0,
    backend: 'host',
    extra: { workers: cores, pairs: 2 * pairs(100) },
  });
}
