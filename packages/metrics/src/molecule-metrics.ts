/**
 * Generation metrics for Top-n's synthetic "molecule-like" 3-D sets (Top-n paper §5.3, Table 4;
 * the reference code's `constrained_loss`, REFERENCES.md §7.5). Atoms are points; two atoms are
 * bonded when closer than the dataset's neighbour distance (2 in Top-n):
 *
 * - valency of atom i = #{j ≠ i : ‖x_i − x_j‖ < neighbourDistance};
 * - valency distribution distance: the generated valency histogram (all atoms of all sets,
 *   normalised) against the dataset's, by the 1-D Wasserstein distance on the integer support.
 *   The code uses scipy's `wasserstein_distance`, i.e. W1 (the default here); the paper's text
 *   calls it "W2" — `order: 2` gives the true W2;
 * - incorrect valency: the fraction of generated atoms with valency 0 or above the maximum
 *   valency (4), as the paper defines it (the released code has these lines commented out);
 *   multiply by 100 for the paper's percentages;
 * - diversity: the mean optimal-transport cost between random pairs of generated sets (pairs
 *   drawn with replacement, a set may meet itself), uniform weights and Euclidean ground cost
 *   (POT `emd2` in the code) — for equal sizes exactly `earthMoversDistance` (mean); for
 *   sizes n ≠ m every point is replicated to lcm(n, m) copies in total, whose optimal
 *   assignment is an optimal transport plan of the uniform measures.
 */
import { ConfigError, DataError, earthMoversDistance, type HostSet, Random, ShapeError } from '@setgen/ops';
import { type Check, checkOptions, is } from '@setgen/ops/internal';

/** Options shared by the valency metrics. */
export interface ValencyOptions {
  /** Bond length: atoms closer than this are neighbours; default 2 (Top-n). */
  neighbourDistance?: number;
}

function checkSets(sets: readonly HostSet[], name: string): void {
  if (!Array.isArray(sets) || sets.length === 0)
    throw new DataError(
      `${name}: expected at least one set, got ${Array.isArray(sets) ? 'an empty array' : typeof sets}`,
    );
  sets.forEach((s, k) => {
    if (!s?.values || !Number.isInteger(s.n) || s.n < 1 || s.values.length !== s.n * s.d) {
      throw new ShapeError(
        `${name}[${k}]: expected a non-empty HostSet { values of length n·d, n ≥ 1, d }, got n = ${s?.n}, d = ${s?.d}`,
      );
    }
    if (s.d !== sets[0].d)
      throw new ShapeError(`${name}[${k}]: expected d = ${sets[0].d} like ${name}[0], got d = ${s.d}`);
    for (let i = 0; i < s.values.length; i++) {
      if (!Number.isFinite(s.values[i]))
        throw new DataError(`${name}[${k}]: expected finite coordinates, got ${s.values[i]}`);
    }
  });
}

const VALENCY_OPTIONS = { neighbourDistance: is.number({ positive: true }) };

/** The neighbour distance of valency options whose keys are `VALENCY_OPTIONS` and `extra`. */
function neighbourDistanceOf(options: ValencyOptions, extra: Record<string, Check<unknown>> = {}): number {
  return checkOptions(options, { ...VALENCY_OPTIONS, ...extra }, 'options').neighbourDistance ?? 2;
}

/** Valency (number of neighbours closer than `neighbourDistance`) of every atom of one set. */
export function valencies(set: HostSet, options: ValencyOptions = {}): Int32Array {
  checkSets([set], 'set');
  const limit = neighbourDistanceOf(options) ** 2;
  const { values, n, d } = set;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (values[i * d + c] - values[j * d + c]) ** 2;
      if (s < limit) {
        out[i]++;
        out[j]++;
      }
    }
  }
  return out;
}

/** Normalised histogram of the valencies of all atoms of all sets (index = valency). */
export function valencyHistogram(sets: readonly HostSet[], options: ValencyOptions = {}): Float64Array {
  checkSets(sets, 'sets');
  const all = sets.map((s) => valencies(s, options));
  const max = all.reduce((m, v) => v.reduce((a, b) => Math.max(a, b), m), 0);
  const hist = new Float64Array(max + 1);
  let total = 0;
  for (const v of all) {
    for (const k of v) {
      hist[k]++;
      total++;
    }
  }
  return hist.map((c) => c / total);
}

/**
 * 1-D Wasserstein-p distance between two distributions on 0, 1, 2, … (weights need not be
 * normalised; they are). p = 1: Σ_k |F_P(k) − F_Q(k)|; p = 2: (∫₀¹ |F_P⁻¹(u) − F_Q⁻¹(u)|² du)^½.
 */
export function integerWasserstein(p: ArrayLike<number>, q: ArrayLike<number>, order: 1 | 2 = 1): number {
  if (order !== 1 && order !== 2) throw new ConfigError(`order: expected 1 or 2, got ${order}`);
  const sum = (w: ArrayLike<number>, name: string) => {
    let s = 0;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0)) throw new DataError(`${name}: expected non-negative weights, got ${w[i]} at ${i}`);
      s += w[i];
    }
    if (!(s > 0)) throw new DataError(`${name}: expected weights with a positive sum`);
    return s;
  };
  const sp = sum(p, 'p');
  const sq = sum(q, 'q');
  const length = Math.max(p.length, q.length);
  const at = (w: ArrayLike<number>, k: number, s: number) => (k < w.length ? w[k] / s : 0);
  if (order === 1) {
    let fp = 0;
    let fq = 0;
    let w1 = 0;
    for (let k = 0; k < length - 1; k++) {
      fp += at(p, k, sp);
      fq += at(q, k, sq);
      w1 += Math.abs(fp - fq);
    }
    return w1;
  }
  // W2² = Σ over the merged CDF breakpoints u_0 < u_1 < … of (u_t − u_{t−1})·(F_P⁻¹(u_t) − F_Q⁻¹(u_t))²,
  // with F⁻¹(u) = min{k : F(k) ≥ u} constant on each (u_{t−1}, u_t]
  const cdf = (w: ArrayLike<number>, s: number) => {
    const f = new Float64Array(length);
    let acc = 0;
    for (let k = 0; k < length; k++) f[k] = acc += at(w, k, s);
    f[length - 1] = 1;
    return f;
  };
  const fp = cdf(p, sp);
  const fq = cdf(q, sq);
  const breakpoints = Array.from(new Set([...fp, ...fq])).sort((a, b) => a - b);
  const quantile = (f: Float64Array, u: number) => {
    let k = 0;
    while (f[k] < u) k++;
    return k;
  };
  let w2 = 0;
  let previous = 0;
  for (const u of breakpoints) {
    if (u <= previous) continue;
    w2 += (u - previous) * (quantile(fp, u) - quantile(fq, u)) ** 2;
    previous = u;
  }
  return Math.sqrt(w2);
}

/**
 * Distance between the generated valency distribution and the dataset's
 * (`datasetHistogram[v]` = share of atoms with valency v; index 0 is valency 0 — Top-n's config
 * stores valencies 1..4 from index 0, prepend a 0). Default W1, as the reference code.
 */
export function valencyDistributionDistance(
  generated: readonly HostSet[],
  datasetHistogram: ArrayLike<number>,
  options: ValencyOptions & { order?: 1 | 2 } = {},
): number {
  neighbourDistanceOf(options, { order: is.any });
  const order = options.order ?? 1;
  if (order !== 1 && order !== 2) throw new ConfigError(`options.order: expected 1 or 2, got ${order}`);
  if (!datasetHistogram || datasetHistogram.length === 0) {
    throw new ShapeError('datasetHistogram: expected a non-empty histogram indexed by valency');
  }
  const valencyOptions = { neighbourDistance: options.neighbourDistance };
  return integerWasserstein(valencyHistogram(generated, valencyOptions), datasetHistogram, order);
}

/** Fraction of generated atoms with valency 0 or more than `maxValency` (default 4). */
export function incorrectValencyFraction(
  generated: readonly HostSet[],
  options: ValencyOptions & { maxValency?: number } = {},
): number {
  neighbourDistanceOf(options, { maxValency: is.integer(1) });
  const maxValency = options.maxValency ?? 4;
  checkSets(generated, 'generated');
  let wrong = 0;
  let total = 0;
  for (const set of generated) {
    for (const v of valencies(set, { neighbourDistance: options.neighbourDistance })) {
      if (v === 0 || v > maxValency) wrong++;
      total++;
    }
  }
  return wrong / total;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Optimal transport cost between the uniform measures on two sets (Euclidean ground cost). */
export function uniformTransportCost(a: HostSet, b: HostSet): number {
  if (a.n === b.n) return earthMoversDistance(a, b, { method: 'exact', pointReduction: 'mean' });
  const size = (a.n / gcd(a.n, b.n)) * b.n;
  const replicate = (s: HostSet) => {
    const copies = size / s.n;
    const values = new Float64Array(size * s.d);
    for (let i = 0; i < s.n; i++) {
      for (let r = 0; r < copies; r++)
        values.set(s.values.subarray(i * s.d, (i + 1) * s.d), (i * copies + r) * s.d);
    }
    return { values, n: size, d: s.d };
  };
  return earthMoversDistance(replicate(a), replicate(b), { method: 'exact', pointReduction: 'mean' });
}

/** Mean OT cost between `pairs` random pairs of generated sets (default 1000, seed 0). */
export function diversityScore(
  generated: readonly HostSet[],
  options: { pairs?: number; seed?: number } = {},
): number {
  const { pairs = 1000 } = checkOptions(options, { pairs: is.integer(1), seed: is.seed }, 'options');
  checkSets(generated, 'generated');
  const random = new Random(options.seed ?? 0);
  let total = 0;
  for (let p = 0; p < pairs; p++) {
    const a = generated[random.int(generated.length)];
    const b = generated[random.int(generated.length)];
    total += uniformTransportCost(a, b);
  }
  return total / pairs;
}

/** Options of `boundingBoxViolation`. */
export interface BoundingBoxOptions {
  /** Lower corner, one number for every axis or one per axis; default −6 (Top-n's box). */
  low?: number | readonly number[];
  /** Upper corner; default 6. */
  high?: number | readonly number[];
}

function corner(value: unknown, d: number, name: string): number[] {
  const list =
    typeof value === 'number' ? new Array<number>(d).fill(value) : Array.isArray(value) ? [...value] : [];
  if (list.length !== d || list.some((v) => !Number.isFinite(v))) {
    throw new ConfigError(
      `options.${name}: expected a finite number or ${d} finite numbers, got ${JSON.stringify(value)}`,
    );
  }
  return list;
}

/**
 * Bounding-box violation (`constrained_loss` term 0): Σ over atoms and axes of
 * relu(low − x) + relu(x − high), divided by the total number of atoms.
 */
export function boundingBoxViolation(
  generated: readonly HostSet[],
  options: BoundingBoxOptions = {},
): number {
  const checked = checkOptions(options, { low: is.any, high: is.any }, 'options');
  checkSets(generated, 'generated');
  const d = generated[0].d;
  const low = corner(checked.low ?? -6, d, 'low');
  const high = corner(checked.high ?? 6, d, 'high');
  low.forEach((l, c) => {
    if (!(l <= high[c]))
      throw new ConfigError(`options.low[${c}] (${l}) must be ≤ options.high[${c}] (${high[c]})`);
  });
  let total = 0;
  let atoms = 0;
  for (const { values, n } of generated) {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) {
        const x = values[i * d + c];
        total += Math.max(low[c] - x, 0) + Math.max(x - high[c], 0);
      }
    }
    atoms += n;
  }
  return total / atoms;
}

/**
 * Minimum-distance violation (`constrained_loss` term 1): Σ over ordered pairs i ≠ j of
 * relu(minDistance − ‖x_i − x_j‖) (each pair counted twice, as the reference), divided by the
 * total number of atoms.
 */
export function minimumDistanceViolation(
  generated: readonly HostSet[],
  options: { minDistance?: number } = {},
): number {
  const { minDistance = 1 } = checkOptions(
    options,
    { minDistance: is.number({ positive: true }) },
    'options',
  );
  checkSets(generated, 'generated');
  let total = 0;
  let atoms = 0;
  for (const { values, n, d } of generated) {
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += (values[i * d + c] - values[j * d + c]) ** 2;
        total += 2 * Math.max(minDistance - Math.sqrt(s), 0);
      }
    }
    atoms += n;
  }
  return total / atoms;
}

/**
 * Cardinality distance (`constrained_loss` term 3): 1-D W1 between the generated set sizes
 * and the dataset's size distribution (`datasetHistogram[n]` = share or count of sets of size n).
 */
export function cardinalityDistance(
  generated: readonly HostSet[],
  datasetHistogram: ArrayLike<number>,
): number {
  checkSets(generated, 'generated');
  if (!datasetHistogram || datasetHistogram.length === 0) {
    throw new ShapeError('datasetHistogram: expected a non-empty histogram indexed by set size');
  }
  const sizes = new Float64Array(generated.reduce((m, s) => Math.max(m, s.n), 0) + 1);
  for (const s of generated) sizes[s.n]++;
  return integerWasserstein(sizes, datasetHistogram, 1);
}

/** What `constrainedLoss` needs to know about the dataset. */
export interface ConstrainedLossOptions extends ValencyOptions, BoundingBoxOptions {
  /** Dataset valency distribution, index = valency (index 0 = valency 0). */
  datasetValencyHistogram: ArrayLike<number>;
  /** Dataset size distribution, index = set size. */
  datasetSizeHistogram: ArrayLike<number>;
  /** Minimum distance of term 1; default 1. */
  minDistance?: number;
  /** Diversity pairs; default 1000, seed 0 (see `diversityScore`). */
  pairs?: number;
  seed?: number;
}

/** The five generation metrics of the reference's `constrained_loss`, by name. */
export interface ConstrainedLoss {
  boundingBox: number;
  minDistance: number;
  valencyW1: number;
  cardinalityW1: number;
  diversity: number;
}

/**
 * All of the Top-n reference's `constrained_loss` (utils/metrics.py) on generated sets of
 * positions: bounding-box and minimum-distance violations per atom, valency W1 and
 * cardinality W1 against the dataset's histograms, diversity over random pairs.
 */
export function constrainedLoss(
  generated: readonly HostSet[],
  options: ConstrainedLossOptions,
): ConstrainedLoss {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options: expected { datasetValencyHistogram, datasetSizeHistogram, ... }');
  }
  checkOptions(
    options,
    {
      ...VALENCY_OPTIONS,
      datasetValencyHistogram: is.any,
      datasetSizeHistogram: is.any,
      low: is.any,
      high: is.any,
      minDistance: is.any,
      pairs: is.any,
      seed: is.any,
    },
    'options',
  );
  return {
    boundingBox: boundingBoxViolation(generated, { low: options.low, high: options.high }),
    minDistance: minimumDistanceViolation(generated, { minDistance: options.minDistance }),
    valencyW1: valencyDistributionDistance(generated, options.datasetValencyHistogram, {
      neighbourDistance: options.neighbourDistance,
    }),
    cardinalityW1: cardinalityDistance(generated, options.datasetSizeHistogram),
    diversity: diversityScore(generated, { pairs: options.pairs, seed: options.seed }),
  };
}
