import { type HostSet, ShapeError } from '@setgen/ops';
import { describeBackends } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { batches, batchIndices, type DatasetBatch, toTfDataGenerator } from './batches.js';

const set = (rows: number[][]): HostSet => ({
  values: Float32Array.from(rows.flat()),
  n: rows.length,
  d: rows[0]?.length ?? 2,
});
const sized = (n: number, tag: number): HostSet => set(Array.from({ length: n }, (_, i) => [tag, i]));

async function collect(iterable: AsyncIterable<DatasetBatch>) {
  const out: { indices: number[]; sizes: number[]; shape: number[]; labels?: number[] }[] = [];
  for await (const b of iterable) {
    out.push({
      indices: b.indices,
      sizes: b.sizes,
      shape: b.x.shape,
      labels: b.labels && Array.from(b.labels),
    });
    tf.dispose([b.x, b.mask as tf.Tensor]);
  }
  return out;
}

describeBackends('batches', () => {
  const data = {
    sets: [3, 1, 2, 3, 1, 2, 3].map((n, i) => sized(n, i)),
    labels: Int32Array.from([10, 11, 12, 13, 14, 15, 16]),
  };

  it('in order without shuffle; last partial batch unless dropLast; labels follow', async () => {
    const all = await collect(batches(data, { batchSize: 3 }));
    expect(all.map((b) => b.indices)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(all[0].shape).toEqual([3, 3, 2]);
    expect(all[0].labels).toEqual([10, 11, 12]);
    const dropped = await collect(batches(data.sets, { batchSize: 3, dropLast: true }));
    expect(dropped.map((b) => b.indices)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(dropped[0].labels).toBeUndefined();
  });

  it('seeded shuffle: same seed same order, covers every set once', async () => {
    const a = await collect(batches(data, { batchSize: 2, shuffle: true, seed: 7 }));
    const b = await collect(batches(data, { batchSize: 2, shuffle: true, seed: 7 }));
    const c = await collect(batches(data, { batchSize: 2, shuffle: true, seed: 8 }));
    expect(a).toEqual(b);
    expect(a.flatMap((x) => x.indices).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(c.flatMap((x) => x.indices)).not.toEqual(a.flatMap((x) => x.indices));
  });

  it('bucketBySize: batches never mix sizes (no padding)', async () => {
    const all = await collect(batches(data, { batchSize: 2, bucketBySize: true, shuffle: true, seed: 1 }));
    for (const b of all) {
      expect(new Set(b.sizes).size).toBe(1);
      expect(b.shape[1]).toBe(b.sizes[0]);
    }
    expect(all.flatMap((x) => x.indices).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(batchIndices([3, 1, 2, 3, 1, 2, 3], { batchSize: 2, bucketBySize: true })).toEqual([
      [1, 4],
      [2, 5],
      [0, 3],
      [6],
    ]);
  });

  it('the consumer owns yielded tensors; prefetched batches are disposed on early exit', async () => {
    const before = tf.memory().numTensors;
    for await (const b of batches(data, { batchSize: 1, prefetch: 3 })) {
      await new Promise((resolve) => setTimeout(resolve, 5)); // let prefetch run
      expect(tf.memory().numTensors).toBeGreaterThan(before + 2); // this batch + prefetched ones
      tf.dispose([b.x, b.mask as tf.Tensor]);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('batches a stream in arrival order', async () => {
    async function* stream() {
      for (const s of data.sets) yield s;
    }
    const all = await collect(batches(stream(), { batchSize: 3 }));
    expect(all.map((b) => b.indices)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(() => batches(stream(), { batchSize: 3, shuffle: true })).toThrow(/need an in-memory dataset/);
  });

  it('streams: prefetch requests the next element while the consumer holds a batch; break closes the source', async () => {
    const requested: number[] = [];
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 6; i++) {
          requested.push(i);
          yield sized(2, i);
        }
      } finally {
        closed = true;
      }
    }
    for await (const b of batches(source(), { batchSize: 2 })) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(requested).toEqual([0, 1, 2]); // element 2 is being read ahead
      tf.dispose([b.x, b.mask as tf.Tensor]);
      break;
    }
    expect(closed).toBe(true);
    requested.length = 0;
    for await (const b of batches(source(), { batchSize: 2, prefetch: 0 })) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(requested).toEqual([0, 1]);
      tf.dispose([b.x, b.mask as tf.Tensor]);
      break;
    }
  });

  it('checks arguments eagerly, before iterating', () => {
    expect(() => batches(data, { batchSize: 0 })).toThrow(/batchSize: expected an integer >= 1, got 0/);
    expect(() => batches({} as never, { batchSize: 1 })).toThrow(/dataset: expected HostSet\[\]/);
    expect(() =>
      batches([sized(2, 0), { values: new Float32Array(1), n: 1, d: 2 }], { batchSize: 1 }),
    ).toThrow(/dataset.sets\[1\]: expected a HostSet/);
    expect(() => batches(data, { batchSize: 2, maxSize: 2 })).toThrow(
      /dataset.sets\[0\]: has 3 elements, more than maxSize=2/,
    );
    expect(() => batches([sized(2, 0), set([[1, 2, 3]])], { batchSize: 1 })).toThrow(ShapeError);
  });

  it('toTfDataGenerator yields { x, mask } per batch, each call a new epoch', () => {
    const generator = toTfDataGenerator(data, { batchSize: 4, shuffle: true, seed: 3 });
    for (let epoch = 0; epoch < 2; epoch++) {
      const shapes: number[][] = [];
      for (const { x, mask } of generator()) {
        shapes.push(x.shape);
        expect(mask?.shape).toEqual(x.shape.slice(0, 2));
        tf.dispose([x, mask as tf.Tensor]);
      }
      expect(shapes.map((s) => s[0])).toEqual([4, 3]);
    }
  });
});
