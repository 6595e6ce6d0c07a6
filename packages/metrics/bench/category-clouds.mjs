// Synthetic "ShapeNet category" collections for the EMD-pruning benchmark (emd-pruning.bench.mjs):
// members of one shape family that vary, so that nearest neighbours mean something, and a
// generated collection drawn from the same family with noise on every point (a model that
// learnt the family but not the exact surfaces).
//
// - 'ellipsoid': points on an ellipsoid surface, each axis within ±20 % of (1, 0.5, 0.3) (the
//   ops bench's `emd_exact_category` pairs): 3 shape parameters, shapes close to each other
//   compared to the sampling noise of 2,048 points.
// - 'airplane': a fuselage (ellipsoid, length 0.8–1.2, radius 0.06–0.12), a pair of wings
//   (thin slabs, span 0.6–1.2, chord 0.15–0.3, sweep ±0.15, position along the fuselage), a
//   tail plane and a fin: 9 shape parameters, points spread by area as a surface sampler would.

import { Random } from '@setgen/ops';

/** The value after `--name` on the command line, or `fallback`. */
export const benchArg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};

/**
 * The collections the EMD-pruning benches evaluate, from the command line (`--k 100 --n 2048
 * --family ellipsoid --noise 0.01 --workers 2 --seed 1`): K references, then K generated clouds
 * with noise, drawn from `new Random(seed)` — the same clouds for the same arguments.
 */
export function benchCollections() {
  const k = Number(benchArg('k', 100));
  const n = Number(benchArg('n', 2048));
  const family = benchArg('family', 'ellipsoid');
  const noise = Number(benchArg('noise', 0.01));
  const workers = Number(benchArg('workers', 2));
  const seed = Number(benchArg('seed', 1));
  const random = new Random(seed);
  const reference = categoryClouds(random, family, k, n);
  const generated = categoryClouds(random, family, k, n, noise);
  return { k, n, family, noise, workers, seed, reference, generated };
}

/** `k` clouds of `n` points of `family`, drawn from `random` (@setgen/ops Random); `noise` σ per coordinate. */
export function categoryClouds(random, family, k, n, noise = 0) {
  const make = family === 'airplane' ? airplane : ellipsoid;
  return Array.from({ length: k }, () => {
    const values = make(random, n);
    if (noise > 0) for (let i = 0; i < values.length; i++) values[i] += noise * random.normal();
    return { values, n, d: 3 };
  });
}

function onEllipsoid(random, [sx, sy, sz], [cx, cy, cz], out, at) {
  const [x, y, z] = [random.normal(), random.normal(), random.normal()];
  const r = Math.hypot(x, y, z);
  out[at] = cx + (sx * x) / r;
  out[at + 1] = cy + (sy * y) / r;
  out[at + 2] = cz + (sz * z) / r;
}

function ellipsoid(random, n) {
  const axes = [1, 0.5, 0.3].map((a) => a * random.uniform(0.8, 1.2));
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) onEllipsoid(random, axes, [0, 0, 0], out, 3 * i);
  return out;
}

function airplane(random, n) {
  const length = random.uniform(0.8, 1.2);
  const radius = random.uniform(0.06, 0.12);
  const span = random.uniform(0.6, 1.2);
  const chord = random.uniform(0.15, 0.3);
  const sweep = random.uniform(-0.15, 0.15);
  const wingAt = random.uniform(-0.15, 0.1);
  const tailSpan = random.uniform(0.2, 0.4);
  const finHeight = random.uniform(0.1, 0.25);
  const tailChord = random.uniform(0.08, 0.15);
  // parts with their (approximate) areas
  const parts = [
    {
      area: 2 * Math.PI * radius * length,
      sample: (o, a) => onEllipsoid(random, [length / 2, radius, radius], [0, 0, 0], o, a),
    },
    {
      area: 2 * span * chord,
      sample: (o, a) => {
        const s = random.uniform(-1, 1); // along the span
        o[a] = wingAt + sweep * Math.abs(s) + chord * random.uniform(-0.5, 0.5);
        o[a + 1] = (s * span) / 2;
        o[a + 2] = 0.01 * random.uniform(-1, 1);
      },
    },
    {
      area: 2 * tailSpan * tailChord,
      sample: (o, a) => {
        const s = random.uniform(-1, 1);
        o[a] = -length / 2 + tailChord * random.uniform(0, 1) + 0.05 * Math.abs(s);
        o[a + 1] = (s * tailSpan) / 2;
        o[a + 2] = 0.01 * random.uniform(-1, 1);
      },
    },
    {
      area: finHeight * tailChord * 1.5,
      sample: (o, a) => {
        const h = random.uniform(0, 1);
        o[a] = -length / 2 + tailChord * random.uniform(0, 1.5) + 0.1 * h;
        o[a + 1] = 0.01 * random.uniform(-1, 1);
        o[a + 2] = radius * 0.5 + h * finHeight;
      },
    },
  ];
  const total = parts.reduce((s, p) => s + p.area, 0);
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    let u = random.uniform(0, total);
    let p = 0;
    while (p < parts.length - 1 && u >= parts[p].area) u -= parts[p++].area;
    parts[p].sample(out, 3 * i);
  }
  return out;
}
