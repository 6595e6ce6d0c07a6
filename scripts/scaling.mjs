#!/usr/bin/env node
// How time and memory grow with the work: every case runs in a fresh Node process (so its
// peak resident memory, maxRSS, is its own) and prints one JSON line
//   {"name","group","size","median_ms","runs","max_rss_mb","backend"}
// Groups (sizes from the issue; --quick keeps the small end):
//   chamfer   chamferDistanceHost of two 3-D clouds, n = 256 … 8192 points (host kernel)
//   emd       exact earthMoversDistance, n = 256 … 8192 (sparse certified path from 256)
//   sampling  SetVAE (Set-MNIST preset, untrained) sample of one set of 100 … 100,000 points, wasm
//   metrics   computeAllMetrics under CD on K generated + K reference clouds of 512 points, K = 50 … 800
//             (EMD's per-pair cost is the emd group; the protocol's EMD total is projected by
//             packages/ops/bench/assignment-vs-scipy.mjs)
// Usage (after `pnpm build`):
//   node scripts/scaling.mjs [--only chamfer emd] [--quick] [--plot out/scaling] > scaling.jsonl
//   node scripts/scaling.mjs --only none --from scaling.jsonl --plot out/scaling   (plot only)
//   node scripts/scaling.mjs --only metrics --sizes 400 800 >> scaling.jsonl   (some sizes; each
//   line is printed when its case ends, so an interrupted run keeps the finished sizes)
// A case whose single run takes minutes (metrics from 200 clouds) is not warmed up first.
// --plot draws time and peak memory against size (log-log), one panel per group, with
// examples/plot (built), as out/scaling-time and out/scaling-memory (.svg/.png/.vl.json).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const plotAt = argv.includes('--plot') ? argv[argv.indexOf('--plot') + 1] : null;
const only = argv.includes('--only')
  ? argv.slice(argv.indexOf('--only') + 1).filter((a) => !a.startsWith('--'))
  : null;

const sizesOnly = argv.includes('--sizes')
  ? argv
      .slice(argv.indexOf('--sizes') + 1)
      .filter((a) => !a.startsWith('--'))
      .map(Number)
  : null;

const pow2 = (from, to) => {
  const out = [];
  for (let n = from; n <= to; n *= 2) out.push(n);
  return out;
};

// Each case: code run in a child (ESM, `size` and `runs` defined), which sets `work()`.
const groups = {
  chamfer: {
    sizes: quick ? pow2(256, 2048) : pow2(256, 8192),
    runs: 5,
    code: `
      const { chamferDistanceHost, Random } = await import(${JSON.stringify(join(root, 'packages/ops/dist/index.js'))});
      const r = new Random(1);
      const cloud = () => ({ values: Float64Array.from({ length: size * 3 }, () => r.normal()), n: size, d: 3 });
      const a = cloud(), b = cloud();
      work = () => chamferDistanceHost(a, b);`,
  },
  emd: {
    sizes: quick ? pow2(256, 2048) : pow2(256, 8192),
    runs: 3,
    code: `
      const { earthMoversDistance, Random } = await import(${JSON.stringify(join(root, 'packages/ops/dist/index.js'))});
      const r = new Random(1);
      const shape = () => { const v = new Float64Array(size * 3); for (let i = 0; i < size; i++) { const [x, y, z] = [r.normal(), r.normal(), r.normal()]; const s = Math.hypot(x, y, z); v.set([x / s, 0.5 * y / s, 0.3 * z / s], 3 * i); } return { values: v, n: size, d: 3 }; };
      const a = shape(), b = shape();
      work = () => earthMoversDistance(a, b);`,
  },
  sampling: {
    sizes: quick ? [100, 1000, 10000] : [100, 1000, 10000, 100000],
    runs: 3,
    code: `
      await import('@tensorflow/tfjs-backend-wasm');
      const tf = await import('@tensorflow/tfjs-core');
      await tf.setBackend('wasm'); await tf.ready();
      const { SetVAE } = await import(${JSON.stringify(join(root, 'packages/models/dist/index.js'))});
      const model = new SetVAE({ ...SetVAE.presets.setMnist, maxOutputs: 100000 });
      work = () => { const out = model.sample([size], { seed: 1 }); out.x.dataSync(); tf.dispose([out.x, out.mask].filter(Boolean)); };`,
  },
  metrics: {
    sizes: quick ? [50, 100] : [50, 100, 200, 400, 800],
    runs: 1,
    warmupBelow: 200,
    code: `
      const { computeAllMetrics } = await import(${JSON.stringify(join(root, 'packages/metrics/dist/node.js'))});
      const { Random } = await import(${JSON.stringify(join(root, 'packages/ops/dist/index.js'))});
      const r = new Random(1);
      const clouds = () => Array.from({ length: size }, () => ({ values: Float64Array.from({ length: 512 * 3 }, () => r.normal()), n: 512, d: 3 }));
      const gen = clouds(), ref = clouds();
      work = () => computeAllMetrics(gen, ref, { distances: ['cd'] });`,
  },
};

const lines = [];
for (const [group, { sizes, runs, code, warmupBelow = Number.POSITIVE_INFINITY }] of Object.entries(groups)) {
  if (only && !only.includes(group)) continue;
  for (const size of sizes) {
    if (sizesOnly && !sizesOnly.includes(size)) continue;
    const script = `
      const size = ${size}; const runs = ${runs}; let work;
      ${code}
      if (${size < warmupBelow}) await work(); // warm-up
      const times = [];
      for (let r = 0; r < runs; r++) { const t0 = performance.now(); await work(); times.push(performance.now() - t0); }
      times.sort((a, b) => a - b);
      console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], runs, max_rss_mb: process.resourceUsage().maxRSS / 1024 }));
    `;
    let result;
    try {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: join(root, 'packages/models'),
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      result = JSON.parse(out.trim().split('\n').pop());
    } catch (error) {
      result = { error: String(error.message ?? error).split('\n')[0] };
    }
    const line = {
      name: `scaling_${group}_${size}`,
      group,
      size,
      ...result,
      backend: group === 'sampling' ? 'wasm' : 'host',
    };
    lines.push(line);
    console.log(JSON.stringify(line));
  }
}

if (plotAt) {
  // --from FILE: plot earlier JSON lines instead of measuring
  const from = argv.includes('--from') ? argv[argv.indexOf('--from') + 1] : null;
  if (from) {
    const { readFileSync } = await import('node:fs');
    lines.push(
      ...readFileSync(from, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l)),
    );
  }
  const { metricCurves, sideBySide } = await import(join(root, 'examples/plot/dist/index.js'));
  const { saveFigure } = await import(join(root, 'examples/plot/dist/node.js'));
  const titles = {
    chamfer: 'Chamfer (host), points per cloud',
    emd: 'exact EMD, points per cloud',
    sampling: 'SetVAE sampling (wasm), points',
    metrics: 'metrics (CD, 512 points), clouds per side',
  };
  const present = [...new Set(lines.filter((l) => l.median_ms).map((l) => l.group))];
  // x on a log scale too: the spec is plain JSON, so patch its x encodings
  const logX = (node) => {
    if (Array.isArray(node)) node.forEach(logX);
    else if (node && typeof node === 'object') {
      if (node.x?.field === 'step') node.x.scale = { ...(node.x.scale ?? {}), type: 'log' };
      Object.values(node).forEach(logX);
    }
    return node;
  };
  const panel = (group, key, yTitle) => {
    const rows = lines.filter((l) => l.group === group && l[key]);
    return logX(
      metricCurves([{ name: group, steps: rows.map((l) => l.size), values: rows.map((l) => l[key]) }], {
        xTitle: titles[group],
        yTitle,
        logY: true,
        width: 220,
        height: 160,
      }),
    );
  };
  await saveFigure(`${plotAt}-time`, sideBySide(present.map((g) => panel(g, 'median_ms', 'time (ms)'))));
  await saveFigure(
    `${plotAt}-memory`,
    sideBySide(present.map((g) => panel(g, 'max_rss_mb', 'peak RSS (MB)'))),
  );
  console.error(`wrote ${plotAt}-time and ${plotAt}-memory (.svg / .png / .vl.json)`);
}
