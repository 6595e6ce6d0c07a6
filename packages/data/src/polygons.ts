import { Random } from '@setgen/ops';
import { checkInteger, checkNumber, checkOptions, is } from '@setgen/ops/internal';
import type { SetDataset } from './dataset.js';

/** Options of `polygons` (DSPN's rotated regular polygons); every field has a default. */
export interface PolygonsOptions {
  /** Number of sets. Default 1000. */
  numSets?: number;
  /** Seed of angles, corner counts and noise. Default 0. */
  seed?: number;
  /** Corners of every polygon (DSPN's toy task: 4, a square). Default 4. */
  corners?: number;
  /** Random corner count per set, uniform in [min, max] (overrides `corners`). */
  cornerRange?: readonly [number, number];
  /** Circumradius. Default 1 (corners on the unit circle). */
  radius?: number;
  /** Std of Gaussian noise added to each coordinate. Default 0. */
  noise?: number;
  /** Shuffle the corner order (sets have no order). Default true. */
  shufflePoints?: boolean;
}

export interface PolygonsDataset extends SetDataset {
  /** Rotation angle θ ∈ [0, 2π) of each polygon. */
  angles: Float32Array;
  /** The model input per set, `[numSets·2]`: `(cos θ, sin θ)`. */
  inputs: Float32Array;
  /** Corner count of each set (= its size). */
  corners: Int32Array;
}

/**
 * DSPN's toy vector→set task (the rotated square of its introduction): the corners of a regular polygon
 * `(r cos(θ + 2πk/m), r sin(θ + 2πk/m))`, k = 0..m−1, rotated by a random angle θ that is the
 * input (given as `(cos θ, sin θ)`), plus a random-size variant with m drawn per set.
 */
export function polygons(options: PolygonsOptions = {}): PolygonsDataset {
  checkOptions(
    options,
    {
      numSets: is.any,
      seed: is.seed,
      corners: is.any,
      cornerRange: is.any,
      radius: is.any,
      noise: is.any,
      shufflePoints: is.boolean,
    },
    'options',
  );
  const numSets = checkInteger(options.numSets ?? 1000, 'numSets', 0);
  const seed = checkInteger(options.seed ?? 0, 'seed', Number.MIN_SAFE_INTEGER);
  const range = options.cornerRange ?? [options.corners ?? 4, options.corners ?? 4];
  const low = checkInteger(range[0], options.cornerRange ? 'cornerRange[0]' : 'corners', 1);
  const high = checkInteger(range[1], 'cornerRange[1]', low);
  const radius = checkNumber(options.radius ?? 1, 'radius', { min: 0, max: 1e9 });
  const noise = checkNumber(options.noise ?? 0, 'noise', { min: 0, max: 1e9 });
  const random = new Random(seed);
  const result: PolygonsDataset = {
    sets: [],
    angles: new Float32Array(numSets),
    inputs: new Float32Array(2 * numSets),
    corners: new Int32Array(numSets),
  };
  for (let s = 0; s < numSets; s++) {
    const m = low + random.int(high - low + 1);
    const theta = random.uniform(0, 2 * Math.PI);
    const order = Array.from({ length: m }, (_, k) => k);
    if (options.shufflePoints ?? true) random.shuffle(order);
    const values = new Float32Array(2 * m);
    order.forEach((k, i) => {
      const phi = theta + (2 * Math.PI * k) / m;
      values[2 * i] = radius * Math.cos(phi) + (noise > 0 ? noise * random.normal() : 0);
      values[2 * i + 1] = radius * Math.sin(phi) + (noise > 0 ? noise * random.normal() : 0);
    });
    result.sets.push({ values, n: m, d: 2 });
    result.angles[s] = theta;
    result.inputs.set([Math.cos(theta), Math.sin(theta)], 2 * s);
    result.corners[s] = m;
  }
  return result;
}
