// Host assignment kernels against the peer's `hungarian_n*` and `emd_exact_n*`
// (shared/peer/peer_bench.py: scipy linear_sum_assignment, cdist + LSA). As the peer, every
// run gets a fresh input (made outside the timing): a uniform[0,1) float64 matrix for
// `hungarian_n*`, and for `emd_*` a pair of 3-D clouds, U(-0.5, 0.5) and N(0, 0.25²),
// timed including the Euclidean cost matrix; the output is the mean matched distance.
// Timings are steady state, as in a training loop: V8 optimises the solver after about a
// hundred small calls, so n ≤ 200 warms up 200 times (the first calls of n = 50 take ~0.5 ms
// instead of ~0.05 ms); the rest 3 times (the slow Sinkhorn lines once).
// Build first: `pnpm exec tsc -b`. Run: `node bench/assignment.bench.mjs [--only emd_exact]`.
import { bench } from '../../../scripts/bench-harness.mjs';
import { earthMoversDistance, linearSumAssignment, Random } from '../dist/index.js';

const random = new Random(1);
const RUNS = 7;

function uniformMatrix(n) {
  const cost = new Float64Array(n * n);
  for (let k = 0; k < cost.length; k++) cost[k] = random.next();
  return cost;
}

function cloudPair(n) {
  const a = new Float64Array(n * 3);
  const b = new Float64Array(n * 3);
  for (let k = 0; k < n * 3; k++) {
    a[k] = random.uniform(-0.5, 0.5);
    b[k] = 0.25 * random.normal();
  }
  return [
    { values: a, n, d: 3 },
    { values: b, n, d: 3 },
  ];
}

for (const n of [50, 100, 200, 500, 1000]) {
  await bench(`hungarian_n${n}`, (cost) => linearSumAssignment(cost, { rows: n, cols: n }), {
    runs: RUNS,
    warmup: n <= 200 ? 200 : 3,
    setup: () => uniformMatrix(n),
    backend: 'host',
    extra: { n, cost: 'uniform[0,1) float64, a fresh matrix per run', impl: 'linearSumAssignment' },
  });
}

// the larger sizes (the shared peer script stops at n = 1000; assignment-vs-scipy.mjs
// times SciPy on the same matrices, interleaved)
for (const [rows, cols] of [
  [2000, 2000],
  [1000, 2000],
]) {
  const name = rows === cols ? `hungarian_n${rows}` : `hungarian_${rows}x${cols}`;
  await bench(name, (cost) => linearSumAssignment(cost, { rows, cols }), {
    runs: RUNS,
    warmup: 2,
    setup: () => {
      const cost = new Float64Array(rows * cols);
      for (let k = 0; k < cost.length; k++) cost[k] = random.next();
      return cost;
    },
    backend: 'host',
    extra: { rows, cols, cost: 'uniform[0,1) float64, a fresh matrix per run', impl: 'linearSumAssignment' },
  });
}

const emdSizes = { exact: [256, 1024, 2048], auction: [256, 1024, 2048], sinkhorn: [256, 1024] };
for (const [method, sizes] of Object.entries(emdSizes)) {
  for (const n of sizes) {
    await bench(`emd_${method}_n${n}`, ([a, b]) => earthMoversDistance(a, b, { method }), {
      runs: method === 'sinkhorn' && n > 256 ? 3 : RUNS,
      warmup: method === 'sinkhorn' && n > 256 ? 1 : 3,
      setup: () => cloudPair(n),
      backend: 'host',
      extra: { n, D: 3, method, output: 'mean matched distance, cost matrix included' },
    });
  }
}
