// Test data of the models' tests: noisy rings on the host, padded batches, shuffled epochs.
import { type HostSet, Random } from '@setgen/ops';
import { testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainBatch } from '../runtime/set-model.js';

/** Sets on the host: noisy points on a small ring (sizes as given). */
export function ringSets(sizes: number[], seed: number): HostSet[] {
  const rand = testRandom(seed);
  return sizes.map((n) => {
    const values = new Float32Array(n * 2);
    const cx = 0.3 + 0.4 * rand();
    for (let i = 0; i < n; i++) {
      const t = 2 * Math.PI * rand();
      values[2 * i] = cx + 0.2 * Math.cos(t) + 0.01 * rand();
      values[2 * i + 1] = 0.5 + 0.2 * Math.sin(t) + 0.01 * rand();
    }
    return { values, n, d: 2 };
  });
}

/** Prefix-padded batch with `junk` in the padding (default 9.5). */
export function padded(
  sets: HostSet[],
  { maxSize = Math.max(...sets.map((s) => s.n)), junk = 9.5 }: { maxSize?: number; junk?: number } = {},
): { x: tf.Tensor3D; mask: tf.Tensor2D } {
  const d = sets[0].d;
  const x = new Float32Array(sets.length * maxSize * d).fill(junk);
  const mask = new Float32Array(sets.length * maxSize);
  sets.forEach((s, b) => {
    x.set(s.values, b * maxSize * d);
    mask.fill(1, b * maxSize, b * maxSize + s.n);
  });
  return { x: tf.tensor3d(x, [sets.length, maxSize, d]), mask: tf.tensor2d(mask, [sets.length, maxSize]) };
}

/** A per-epoch factory of shuffled batches (epoch e shuffled with `seed + e`, as data's `batches`). */
export function epochs(sets: HostSet[], seed: number, batchSize: number) {
  const factory = (epoch: number): TrainBatch[] => {
    const order = sets.map((_, i) => i);
    new Random(seed + epoch).shuffle(order);
    const result: TrainBatch[] = [];
    for (let s = 0; s < order.length; s += batchSize) {
      result.push(padded(order.slice(s, s + batchSize).map((i) => sets[i]), { junk: 0 }));
    }
    return result;
  };
  return Object.assign(factory, { stepsPerEpoch: Math.ceil(sets.length / batchSize) });
}
