// Padded set batches for tests: seeded random sets, prefix masks, junk in the padding, and
// the "one set at a time" reference that every padding test compares against.
import * as tf from '@tensorflow/tfjs-core';
import { testRandom } from './random.js';

/**
 * A tensor of `shape` uniform in [-scale, scale) from a seeded generator (a seed or a
 * `testRandom` stream).
 */
export function randomTensor(seedOrRandom: number | (() => number), shape: number[], scale = 1): tf.Tensor {
  const rand = typeof seedOrRandom === 'number' ? testRandom(seedOrRandom) : seedOrRandom;
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => (rand() * 2 - 1) * scale),
    shape,
  );
}

/** `[B, N, D]` uniform in [-1, 1) from a seeded generator (a seed or a `testRandom` stream). */
export function randomSet(
  seedOrRandom: number | (() => number),
  shape: [number, number, number],
): tf.Tensor3D {
  return randomTensor(seedOrRandom, shape) as tf.Tensor3D;
}

/** `[B, n]` valid-mask with the first `sizes[b]` elements of set b valid. */
export function prefixMask(sizes: number[], n: number): tf.Tensor2D {
  return tf.tensor2d(sizes.map((s) => Array.from({ length: n }, (_, i) => (i < s ? 1 : 0))));
}

/**
 * `x` with `value` written into its padded rows (mask ≤ 0.5), to show that padding is ignored.
 * Selected, not multiplied, so `value` may be NaN or ±Infinity.
 */
export function fillPadding(x: tf.Tensor3D, mask: tf.Tensor2D, value = 41.25): tf.Tensor3D {
  return tf.tidy(() =>
    tf.where(tf.broadcastTo(tf.expandDims(tf.greater(mask, 0.5), 2), x.shape), x, tf.fill(x.shape, value)),
  );
}

/**
 * Runs `f` on each set alone (its first `sizes[b]` rows) and stacks the results back,
 * zero-padding axis 1 of per-element outputs to `padTo` (leave it undefined for pooled outputs).
 */
export function setsOneByOne(
  x: tf.Tensor3D,
  sizes: number[],
  f: (set: tf.Tensor3D, b: number) => tf.Tensor,
  padTo?: number,
): tf.Tensor {
  return tf.tidy(() =>
    tf.concat(
      sizes.map((n, b) => {
        const out = f(tf.slice(x, [b, 0, 0], [1, n, -1]), b);
        if (padTo === undefined) return out;
        const padding: [number, number][] = out.shape.map(() => [0, 0]);
        padding[1] = [0, padTo - out.shape[1]!];
        return tf.pad(out, padding);
      }),
      0,
    ),
  );
}
