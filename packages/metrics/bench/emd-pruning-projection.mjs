// Projects the pruned exact-EMD PointFlow protocol (400 generated × 400 reference clouds of
// 2,048 points) from the runs of emd-pruning-run.mjs at smaller sizes:
//   node bench/emd-pruning-projection.mjs [--dir emd-runs] [--to 400] [--workers 2] [--efficiency 1.9]
// Per family: the solver runs (exact + stopped at their cutoff: the lines of the run's cache
// file, so a resumed run counts every segment) as a fraction of all pairs,
// fitted as fraction = c·K^−b (least squares in log–log over every size measured, and over the
// last two sizes alone), times the CPU per solver run at the largest size measured (of the run's
// last segment; its range
// over all sizes as the spread), divided by the worker threads' speed-up (`--efficiency`, the
// 1.94× measured for the worker pool on 2 cores). Prints one JSON line per family with the
// low / central / high projection in minutes; sizes already measured at --to are reported as such.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArg } from './category-clouds.mjs';

const dir = benchArg('dir', 'emd-runs');
const to = Number(benchArg('to', 400));
const efficiency = Number(benchArg('efficiency', 1.9));
const pairsOf = (k) => k * k + k * (k - 1);

const runs = new Map(); // family → [{ k, fraction, cpuPerRun, wall }]
for (const file of readdirSync(dir).filter((f) => /^[a-z]+-k\d+-n2048-s1\.log$/.test(f))) {
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    if (!line.includes('"emd_pruning_run"')) continue;
    const r = JSON.parse(line);
    // every solver run of every segment of a resumed run is a line of its cache file
    const cacheFile = join(dir, file.replace(/\.log$/, '.cache'));
    const solverRuns = readFileSync(cacheFile, 'utf8')
      .split('\n')
      .filter((l) => l.split(' ').length === 5).length;
    const list = runs.get(r.family) ?? [];
    list.push({
      k: r.k,
      fraction: solverRuns / pairsOf(r.k),
      cpuPerRun: r.cpu_per_solver_run_ms,
      wall: r.wall_s,
    });
    runs.set(r.family, list);
  }
}

/** Least-squares slope and intercept of log fraction against log K. */
function fit(points) {
  const xs = points.map((p) => Math.log(p.k));
  const ys = points.map((p) => Math.log(p.fraction));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx;
  return (k) => Math.exp(my + slope * (Math.log(k) - mx));
}

for (const [family, list] of runs) {
  list.sort((p, q) => p.k - q.k);
  if (list.length < 2) continue;
  const all = fit(list);
  const last = fit(list.slice(-2));
  const fractions = [all(to), last(to)];
  const cpu = list.map((p) => p.cpuPerRun);
  const largest = list[list.length - 1];
  const minutes = (fraction, ms) => (fraction * pairsOf(to) * ms) / efficiency / 60_000;
  console.log(
    JSON.stringify({
      family,
      measured: list.map((p) => ({ k: p.k, fraction: +p.fraction.toFixed(4), cpu_per_run_ms: p.cpuPerRun })),
      to,
      fraction_all_sizes_fit: +fractions[0].toFixed(4),
      fraction_last_two_fit: +fractions[1].toFixed(4),
      solver_runs: Math.round(Math.max(...fractions) * pairsOf(to)),
      minutes_low: +minutes(Math.min(...fractions), Math.min(...cpu)).toFixed(1),
      minutes_central: +minutes((fractions[0] + fractions[1]) / 2, largest.cpuPerRun).toFixed(1),
      minutes_high: +minutes(Math.max(...fractions), Math.max(...cpu)).toFixed(1),
      measured_at_to: list.find((p) => p.k === to) ?? null,
    }),
  );
}
