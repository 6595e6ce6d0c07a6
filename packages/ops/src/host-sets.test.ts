// Host sets ↔ padded batches: padding (prefix layout, any pad value), reading valid rows back
// (any mask layout), and the checks before any tensor is made.
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { DataError, ShapeError } from './errors.js';
import { padSets, toHostSets, toSetBatch } from './host-sets.js';
import type { HostSet } from './set-batch.js';

const set = (rows: number[][]): HostSet => ({
  values: Float32Array.from(rows.flat()),
  n: rows.length,
  d: rows[0]?.length ?? 2,
});
const sized = (n: number, tag: number): HostSet => set(Array.from({ length: n }, (_, i) => [tag, i]));

describeBackends('toSetBatch', () => {
  it('pads with zeros and a prefix mask', async () => {
    const batch = toSetBatch([
      set([[1, 2]]),
      set([
        [3, 4],
        [5, 6],
        [7, 8],
      ]),
    ]);
    expect(batch.x.shape).toEqual([2, 3, 2]);
    expect(Array.from(await batch.x.data())).toEqual([1, 2, 0, 0, 0, 0, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(await (batch.mask as tf.Tensor).data())).toEqual([1, 0, 0, 1, 1, 1]);
    tf.dispose([batch.x, batch.mask as tf.Tensor]);
    const wide = toSetBatch([set([[1, 2]])], { maxSize: 4 });
    expect(wide.x.shape).toEqual([1, 4, 2]);
    tf.dispose([wide.x, wide.mask as tf.Tensor]);
  });

  it('rejects mismatched dims, oversized sets and malformed sets with nothing allocated', async () => {
    await expectNoLeak(() => {
      expect(() => toSetBatch([set([[1, 2]]), set([[1, 2, 3]])])).toThrow(
        /sets\[1\]: expected dimension d=2 like sets\[0\], got d=3/,
      );
      expect(() => toSetBatch([sized(5, 0)], { maxSize: 4 })).toThrow(ShapeError);
      expect(() => toSetBatch([sized(5, 0)], { maxSize: 4 })).toThrow(
        /sets\[0\]: has 5 elements, more than maxSize=4/,
      );
      expect(() => toSetBatch([])).toThrow(DataError);
      expect(() => toSetBatch([{ values: new Float32Array(3), n: 2, d: 2 }])).toThrow(
        /sets\[0\]: expected a HostSet.*values.length=3/,
      );
      expect(() => toSetBatch([set([[1, Number.NaN]])])).toThrow(
        /sets\[0\]: expected finite values, got NaN at point 0/,
      );
      expect(() => toSetBatch([set([[1, 2]])], { maxsize: 4 } as never)).toThrow(
        /options.maxsize: unknown option \(did you mean 'maxSize'\?\)/,
      );
    });
  });
});

describeBackends('toHostSets', () => {
  it('reads the valid rows back (round trip, any mask layout, no mask = every row)', () => {
    const sets = [sized(3, 1), sized(1, 2), sized(4, 3)];
    const batch = toSetBatch(sets, { maxSize: 6, padValue: Number.NaN });
    expect(Array.from(batch.x.dataSync()).filter(Number.isNaN)).toHaveLength(2 * (18 - 8));
    expect(toHostSets(batch)).toEqual(sets);
    const holes = {
      x: tf.tensor3d([
        [
          [1, 1],
          [9, 9],
          [2, 2],
        ],
      ]),
      mask: tf.tensor2d([[1, 0, 1]]),
    };
    expect(toHostSets(holes)).toEqual([
      set([
        [1, 1],
        [2, 2],
      ]),
    ]);
    expect(toHostSets(holes.x)[0].n).toBe(3);
    expect(padSets(sets).sizes).toEqual([3, 1, 4]);
    expect(() => toHostSets(tf.zeros([2, 3]) as never)).toThrow(ShapeError);
    tf.dispose([batch.x, batch.mask, holes.x, holes.mask]);
  });
});
