// The sparse exact EMD of this build against another build of @setgen/ops on the same cloud
// pairs (emd-clouds.mjs), the two called alternately (which goes first flips every pair) so
// both see the same load; CPU time per pair, totals checked equal. For a change to the
// solver: build the old version elsewhere, e.g.
//   git worktree add /tmp/ops-old main && (cd /tmp/ops-old/packages/ops && pnpm exec tsc -p
//   tsconfig.json --outDir /tmp/ops-old-dist --composite false --incremental false)
//   node bench/emd-exact-ab.mjs --old /tmp/ops-old-dist [--pairs 12] [--only emd_exact_shape]
// Prints one JSON line per case: both medians and the median of the per-pair ratios new/old.

import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { selected } from '../../../scripts/bench-harness.mjs';
import { Random } from '../dist/index.js';
import { emdCases } from './emd-clouds.mjs';

const argv = process.argv.slice(2);
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const oldDir = option('--old');
if (!oldDir) throw new Error('emd-exact-ab: pass --old <dist directory of the other build>');
const pairs = Number(option('--pairs') ?? 12);
const older = await import(resolve(oldDir, 'emd-exact-sparse.js'));
const newer = await import('../dist/emd-exact-sparse.js');

/** ε of the auction's warm start, as earthMoversDistance passes it (1e-4 · box diagonal). */
function warmStartEpsilon(a, b) {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const x of [a, b]) {
    for (let k = 0; k < x.length; k++) {
      lo[k % 3] = Math.min(lo[k % 3], x[k]);
      hi[k % 3] = Math.max(hi[k % 3], x[k]);
    }
  }
  return 1e-4 * Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
}

function cpuTimed(solve) {
  const c0 = process.cpuUsage();
  const total = solve();
  const c = process.cpuUsage(c0);
  return { total, ms: (c.user + c.system) / 1000 };
}

const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
for (const { name, n, make } of emdCases(new Random(7))) {
  if (!selected(name)) continue;
  const oldMs = [];
  const newMs = [];
  const ratios = [];
  for (let r = -3; r < pairs; r++) {
    const [values, other] = make(n);
    const a = { values, n, d: 3 };
    const b = { values: other, n, d: 3 };
    const epsilon = warmStartEpsilon(values, other);
    const run = (solver) => cpuTimed(() => solver.sparseExactEmd(a, b, epsilon));
    let o;
    let w;
    if (r % 2) {
      o = run(older);
      w = run(newer);
    } else {
      w = run(newer);
      o = run(older);
    }
    if (o.total === null || w.total === null || Math.abs(o.total - w.total) > 1e-9 * o.total)
      throw new Error(`${name}: totals differ, old ${o.total}, new ${w.total}`);
    if (r < 0) continue; // warm-up
    oldMs.push(o.ms);
    newMs.push(w.ms);
    ratios.push(w.ms / o.ms);
  }
  console.log(
    JSON.stringify({
      name,
      old_cpu_ms: median(oldMs),
      new_cpu_ms: median(newMs),
      ratio_median: median(ratios),
      pairs,
      load: loadavg()[0],
    }),
  );
}
