// Linear-sum assignment and exact EMD against SciPy, interleaved: for every run a fresh input
// is made, ours solves it, then SciPy (a python child kept alive: linear_sum_assignment, and
// cdist + linear_sum_assignment for EMD) solves the same input, so both see the same machine
// load; the results must agree. Prints one JSON line per case: medians, p10/p90 and the median
// of the per-run ratios ours/scipy. The EMD lines also record each side's CPU time per pair
// (far less inflated by other jobs than wall time) and project the PointFlow protocol on a
// ShapeNet category (400 generated × 400 reference clouds of 2,048 points: 319,600 pairs
// with the ref-ref and gen-gen blocks 1-NNA needs) over this machine's cores, as setgen-eval's
// worker pool runs it (one pair per worker at a time): pairs × per-pair / cores, from the
// wall-time median (this load) and from the CPU-time median (a quiet machine).
// Each EMD run also solves its pair with a cutoff 5 % below the EMD (`exactEmdBelowCutoff`, as
// the pruned metrics ask for a pair that is not a row minimum): `cutoff95_cpu_ms`.
//   node bench/assignment-vs-scipy.mjs [--runs 15] [--only hungarian_n1000 emd_]
// Needs /usr/bin/python3 with numpy + scipy (or SETGEN_PEER_PYTHON). Build first (tsc -b).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { selected } from '../../../scripts/bench-harness.mjs';
import { earthMoversDistance, linearSumAssignment, Random, writeNpy } from '../dist/index.js';
import { exactEmdBelowCutoff } from '../dist/internal.js';
import { emdCases } from './emd-clouds.mjs';

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 15;
const python = process.env.SETGEN_PEER_PYTHON ?? '/usr/bin/python3';
const peer = spawn(python, [join(import.meta.dirname, 'lsa_peer_server.py')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const answers = createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
const dir = mkdtempSync(join(tmpdir(), 'lsa-'));
const random = new Random(7);

const cases = [
  { name: 'hungarian_n1000', rows: 1000, cols: 1000 },
  { name: 'hungarian_n2000', rows: 2000, cols: 2000 },
  { name: 'hungarian_1000x2000', rows: 1000, cols: 2000 },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.round((s.length - 1) * p)];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9) };
};

try {
  for (const { name, rows, cols } of cases) {
    if (!selected(name)) continue;
    const ours = [];
    const theirs = [];
    const ratios = [];
    for (let r = -1; r < runs; r++) {
      const cost = new Float64Array(rows * cols);
      for (let k = 0; k < cost.length; k++) cost[k] = random.next();
      const path = join(dir, 'cost.npy');
      writeFileSync(path, writeNpy(cost, [rows, cols]));
      const t0 = performance.now();
      const result = linearSumAssignment(cost, { rows, cols });
      const ms = performance.now() - t0;
      peer.stdin.write(`${path} 0\n`);
      const answer = JSON.parse((await answers.next()).value);
      if (Math.abs(answer.cost - result.cost) > 1e-9 * Math.max(1, Math.abs(answer.cost))) {
        throw new Error(`${name}: totals differ, ours ${result.cost} scipy ${answer.cost}`);
      }
      if (r < 0) continue; // warm-up
      ours.push(ms);
      theirs.push(answer.ms);
      ratios.push(ms / answer.ms);
    }
    const o = median(ours);
    const t = median(theirs);
    console.log(
      JSON.stringify({
        name,
        median_ms: o.median,
        p10_ms: o.p10,
        p90_ms: o.p90,
        runs,
        backend: 'host',
        scipy_median_ms: t.median,
        scipy_p10_ms: t.p10,
        scipy_p90_ms: t.p90,
        ratio_median: median(ratios).median,
        cost: 'uniform[0,1) float64, a fresh matrix per run, interleaved with scipy',
      }),
    );
  }

  // Exact EMD per pair on the cloud pairs of emd-clouds.mjs
  for (const { name, n, make } of emdCases(random)) {
    if (!selected(name)) continue;
    const ours = [];
    const theirs = [];
    const ratios = [];
    const oursCpu = [];
    const theirsCpu = [];
    const stoppedCpu = [];
    let stopped = 0;
    for (let r = -1; r < Math.min(runs, 9); r++) {
      const [a, b] = make(n);
      writeFileSync(join(dir, 'a.npy'), writeNpy(a, [n, 3]));
      writeFileSync(join(dir, 'b.npy'), writeNpy(b, [n, 3]));
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const emd = earthMoversDistance({ values: a, n, d: 3 }, { values: b, n, d: 3 });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      peer.stdin.write(`emd ${join(dir, 'a.npy')} ${join(dir, 'b.npy')}\n`);
      const answer = JSON.parse((await answers.next()).value);
      if (Math.abs(answer.emd - emd) > 1e-9 * answer.emd)
        throw new Error(`${name}: ours ${emd}, scipy ${answer.emd}`);
      // the same pair with a cutoff 5 % under its EMD, as a nearest-neighbour search asks for
      // a pair that is not its row's minimum: the solver stops once its duals prove EMD > cutoff
      const s0 = process.cpuUsage();
      const early = exactEmdBelowCutoff({ values: a, n, d: 3 }, { values: b, n, d: 3 }, 0.95 * emd);
      const sc = process.cpuUsage(s0);
      if (early.exact ? early.value !== emd : !(early.value > 0.95 * emd && early.value <= emd))
        throw new Error(`${name}: with a cutoff ${JSON.stringify(early)}, exact ${emd}`);
      if (r < 0) continue;
      stoppedCpu.push((sc.user + sc.system) / 1000);
      if (!early.exact) stopped++;
      ours.push(ms);
      theirs.push(answer.ms);
      ratios.push(ms / answer.ms);
      oursCpu.push((cpu.user + cpu.system) / 1000);
      theirsCpu.push(answer.cpu_ms);
    }
    const o = median(ours);
    const t = median(theirs);
    const oc = median(oursCpu).median;
    const tc = median(theirsCpu).median;
    const cores = availableParallelism();
    const protocolPairs = 400 * 400 + 2 * ((400 * 399) / 2);
    console.log(
      JSON.stringify({
        name,
        median_ms: o.median,
        p10_ms: o.p10,
        p90_ms: o.p90,
        runs: ours.length,
        backend: 'host',
        scipy_median_ms: t.median,
        ratio_median: median(ratios).median,
        cpu_ms: oc,
        scipy_cpu_ms: tc,
        cpu_ratio: oc / tc,
        cutoff95_cpu_ms: median(stoppedCpu).median,
        cutoff95_stopped: `${stopped}/${stoppedCpu.length}`,
        cutoff95_cpu_ratio_scipy: median(stoppedCpu).median / tc,
        protocol_emd_hours_ours: (protocolPairs * o.median) / cores / 3.6e6,
        protocol_emd_hours_scipy: (protocolPairs * t.median) / cores / 3.6e6,
        protocol_emd_hours_ours_cpu: (protocolPairs * oc) / cores / 3.6e6,
        protocol_emd_hours_scipy_cpu: (protocolPairs * tc) / cores / 3.6e6,
        cores,
        load: loadavg()[0],
        output:
          'mean matched Euclidean distance, cost included; projection: 319,600 pairs × per pair / cores (wall median; CPU median)',
      }),
    );
  }
} finally {
  peer.stdin.end();
  rmSync(dir, { recursive: true, force: true });
}
