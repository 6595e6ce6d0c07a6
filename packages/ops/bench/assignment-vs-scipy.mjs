// Linear-sum assignment against SciPy, interleaved: for every run a fresh matrix is made,
// ours solves it, then SciPy (a python child kept alive, scipy.optimize.linear_sum_assignment)
// solves the same matrix, so both see the same machine load; the totals must agree. Prints
// one JSON line per size: medians, p10/p90 and the median of the per-run ratios ours/scipy.
//   node bench/assignment-vs-scipy.mjs [--runs 15] [--only hungarian_n1000]
// Needs /usr/bin/python3 with numpy + scipy (or SETGEN_PEER_PYTHON). Build first (tsc -b).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { selected } from '../../../scripts/bench-harness.mjs';
import { linearSumAssignment, Random, writeNpy } from '../dist/index.js';

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
} finally {
  peer.stdin.end();
  rmSync(dir, { recursive: true, force: true });
}
