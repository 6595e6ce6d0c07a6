import { type HostSet, Random } from '@setgen/ops';
import { checkInteger, checkNumber, checkOptions, is } from '@setgen/ops/internal';
import type { SetDataset } from './dataset.js';

/** Options of `syntheticMolecules` (`numSets` is required; the rest default to Top-n's synthetic configuration). */
export interface SyntheticMoleculesOptions {
  /** Number of sets (sets with fewer than 2 atoms are redrawn, as the reference drops them). */
  numSets: number;
  /** Seed. Default 0 (the reference seeds numpy with 0; streams differ, statistics match). */
  seed?: number;
  /** Half side of the box [−boxSize, boxSize]³ positions are drawn from. Default 6. */
  boxSize?: number;
  /** Minimum distance between atoms. Default 1. */
  minDistance?: number;
  /** Atoms closer than this are neighbours; a new atom needs one. Default 2. */
  neighbourDistance?: number;
  /** Maximal valencies 1..4 are drawn with these probabilities. Default [0.05, 0.05, 0.1, 0.8]. */
  valencyProbabilities?: readonly number[];
  /** Largest set. Default 35. */
  maxSize?: number;
  /** Consecutive rejections after which a set (with more than 4 atoms) is closed. Default 30. */
  triesBeforeStop?: number;
  /** Append the one-hot of each atom's final valency (one column per possible valency: 4 by default) to its position, as the reference's features. Default false. */
  oneHotValency?: boolean;
}

export interface SyntheticMoleculesDataset extends SetDataset {
  /** Per set, each atom's valency: its number of neighbours within `neighbourDistance` (1..4). */
  valencies: Int32Array[];
  /** Per set, each atom's drawn maximal valency. */
  maxValencies: Int32Array[];
}

/**
 * The Top-n paper's "molecule-like" 3-D sets (App. D.2; cvignac/Top-N
 * utils/generate_synthetic_dataset.py): atoms are proposed uniformly in a box and rejected if
 * closer than `minDistance` to an atom, not within `neighbourDistance` of one (connectivity), or
 * if they would give themselves or a neighbour more neighbours than its drawn maximal valency.
 * A set stops at `maxSize` atoms, or after more than `triesBeforeStop` consecutive rejections once
 * it has more than 4 atoms (or after 1000). Points are positions `[n, 3]` (`[n, 7]` with `oneHotValency`).
 */
export function syntheticMolecules(options: SyntheticMoleculesOptions): SyntheticMoleculesDataset {
  checkOptions(
    options,
    {
      numSets: is.any,
      seed: is.seed,
      boxSize: is.any,
      minDistance: is.any,
      neighbourDistance: is.any,
      valencyProbabilities: is.any,
      maxSize: is.any,
      triesBeforeStop: is.any,
      oneHotValency: is.boolean,
    },
    'options',
  );
  const numSets = checkInteger(options?.numSets, 'numSets', 0);
  const seed = checkInteger(options.seed ?? 0, 'seed', Number.MIN_SAFE_INTEGER);
  const box = checkNumber(options.boxSize ?? 6, 'boxSize', { min: 1e-9, max: 1e9 });
  const minDistance = checkNumber(options.minDistance ?? 1, 'minDistance', { min: 0, max: 1e9 });
  const neighbourDistance = checkNumber(options.neighbourDistance ?? 2, 'neighbourDistance', {
    min: minDistance,
    max: 1e9,
  });
  const maxSize = checkInteger(options.maxSize ?? 35, 'maxSize', 2);
  const triesBeforeStop = checkInteger(options.triesBeforeStop ?? 30, 'triesBeforeStop', 0);
  const probabilities = options.valencyProbabilities ?? [0.05, 0.05, 0.1, 0.8];
  probabilities.forEach((p, k) => {
    checkNumber(p, `valencyProbabilities[${k}]`, { min: 0, max: 1 });
  });
  const cumulative = probabilities.map((_, k) => probabilities.slice(0, k + 1).reduce((a, b) => a + b, 0));
  checkNumber(cumulative[cumulative.length - 1], 'sum of valencyProbabilities', {
    min: 0.999999,
    max: 1.000001,
  });
  const random = new Random(seed);
  const drawValency = () => {
    const u = random.next() * cumulative[cumulative.length - 1];
    const k = cumulative.findIndex((c) => u < c);
    return (k < 0 ? cumulative.length - 1 : k) + 1;
  };

  const result: SyntheticMoleculesDataset = { sets: [], valencies: [], maxValencies: [] };
  while (result.sets.length < numSets) {
    const positions: number[] = [];
    const current: number[] = [];
    const maximal: number[] = [];
    let rejections = 0;
    while (current.length < maxSize) {
      const v = drawValency();
      // float32 positions, so the constraints hold exactly for the stored values
      const p = [0, 1, 2].map(() => Math.fround(random.uniform(-box, box)));
      const neighbours: number[] = [];
      let nearest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < current.length; i++) {
        const dist = Math.hypot(
          positions[3 * i] - p[0],
          positions[3 * i + 1] - p[1],
          positions[3 * i + 2] - p[2],
        );
        nearest = Math.min(nearest, dist);
        if (dist < neighbourDistance) neighbours.push(i);
      }
      const accepted =
        current.length === 0 ||
        (nearest >= minDistance &&
          nearest <= neighbourDistance &&
          neighbours.length <= v &&
          neighbours.every((i) => current[i] + 1 <= maximal[i]));
      if (!accepted) {
        rejections++;
        if (rejections > triesBeforeStop && (current.length > 4 || rejections > 1000)) break;
        continue;
      }
      rejections = 0;
      for (const i of neighbours) current[i]++;
      positions.push(...p);
      current.push(neighbours.length);
      maximal.push(v);
    }
    if (current.length < 2) continue;
    const n = current.length;
    const d = options.oneHotValency ? 3 + probabilities.length : 3;
    const values = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      values.set(positions.slice(3 * i, 3 * i + 3), i * d);
      if (options.oneHotValency) values[i * d + 3 + current[i] - 1] = 1;
    }
    result.sets.push({ values, n, d } satisfies HostSet);
    result.valencies.push(Int32Array.from(current));
    result.maxValencies.push(Int32Array.from(maximal));
  }
  return result;
}
