import { describeBackends, expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { DataError, ShapeError } from './errors.js';
import { batchMatMul, gatherRows, viewedMatMul } from './linalg.js';

describeBackends('batchMatMul', () => {
  const cases: [string, number[], number[], { transposeA?: boolean; transposeB?: boolean }][] = [
    ['2d', [4, 3], [3, 5], {}],
    ['3d·2d', [2, 4, 3], [3, 5], {}],
    ['3d·3d', [3, 4, 3], [3, 3, 5], {}],
    ['3d·3dᵀ', [3, 4, 3], [3, 5, 3], { transposeB: true }],
    ['3dᵀ·3d', [3, 3, 4], [3, 3, 5], { transposeA: true }],
    ['3dᵀ·3dᵀ', [3, 3, 4], [3, 5, 3], { transposeA: true, transposeB: true }],
    ['one slice', [1, 4, 3], [1, 3, 5], {}],
    ['large slices (2-D loop)', [2, 600, 2], [2, 2, 500], {}],
  ];
  for (const [name, sa, sb, opts] of cases) {
    it(`matches tf.matMul in value and gradient (${name})`, () => {
      const a = randomTensor(1, sa);
      const b = randomTensor(2, sb);
      const ref = (x: tf.Tensor, y: tf.Tensor) =>
        x.rank === 3 && y.rank === 2
          ? tf.matMul(
              x as tf.Tensor3D,
              tf.tile(tf.expandDims(y, 0), [x.shape[0], 1, 1]) as tf.Tensor3D,
              opts.transposeA,
              opts.transposeB,
            )
          : tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, opts.transposeA, opts.transposeB);
      const ours = (x: tf.Tensor, y: tf.Tensor) => batchMatMul(x, y, opts);
      expectClose(ours(a, b).dataSync(), ref(a, b).dataSync(), { rtol: 1e-5 });
      const w = randomTensor(3, ref(a, b).shape);
      const gRef = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(ref(x, y), w)))([a, b]);
      const gOurs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(ours(x, y), w)))([a, b]);
      expectClose(gOurs[0].dataSync(), gRef[0].dataSync(), { rtol: 1e-4, atol: 1e-5 });
      expectClose(gOurs[1].dataSync(), gRef[1].dataSync(), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([a, b, w, ...gRef, ...gOurs]);
    });
  }

  it('names a non-float32 operand', async () => {
    const a = tf.tensor3d([1, 2, 3, 4], [1, 2, 2], 'int32');
    const b = tf.zeros([2, 2]);
    expect(() => batchMatMul(a, b)).toThrow(DataError);
    const c = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    expect(() => batchMatMul(b, c)).toThrow(/expected float32 tensors, got a float32 and b int32/);
    await expectNoLeak(() => batchMatMul(a, b));
    tf.dispose([a, b, c]);
  });

  it('names mismatched inner dimensions', async () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([4, 5]);
    expect(() => batchMatMul(a, b)).toThrow(ShapeError);
    await expectNoLeak(() => batchMatMul(a, b));
    const c = tf.zeros([2, 3, 4]);
    const d = tf.zeros([2, 4, 5]);
    expect(() => batchMatMul(c, d, { transposeA: true })).toThrow(/inner dimensions differ, a \[2,3,4\]ᵀ/);
    tf.dispose([a, b, c, d]);
  });

  it('names unsupported ranks', () => {
    const a = tf.zeros([3, 4]);
    const b = tf.zeros([2, 4, 5]);
    expect(() => batchMatMul(a, b)).toThrow(/unsupported ranks a \[3,4\], b \[2,4,5\]/);
    const v = tf.zeros([4]);
    expect(() => batchMatMul(v, a)).toThrow(ShapeError);
    tf.dispose([a, b, v]);
  });
});

describeBackends('viewedMatMul', () => {
  // [a shape, b shape, a view, b view, out shape, flags]
  const cases: [
    string,
    number[],
    number[],
    number[],
    number[],
    number[],
    { transposeA?: boolean; transposeB?: boolean },
  ][] = [
    [
      'Σ_rows tᵀ·dz (a dense weight gradient)',
      [2, 5, 3],
      [2, 5, 4],
      [1, 10, 3],
      [1, 10, 4],
      [3, 4],
      { transposeA: true },
    ],
    ['1ᵀ·t (a per-feature sum)', [1, 6], [2, 3, 4], [1, 1, 6], [1, 6, 4], [4], {}],
    ['rows·Wᵀ', [2, 5, 3], [4, 3], [1, 10, 3], [1, 4, 3], [2, 5, 4], { transposeB: true }],
    [
      'aᵀ·bᵀ per slice',
      [2, 3, 4],
      [2, 5, 3],
      [2, 3, 4],
      [2, 5, 3],
      [2, 20],
      { transposeA: true, transposeB: true },
    ],
  ];
  for (const [name, sa, sb, aView, bView, outShape, opts] of cases) {
    it(`is reshape · tf.matMul · reshape in value and gradient (${name})`, async () => {
      const a = randomTensor(4, sa);
      const b = randomTensor(5, sb);
      const ref = (x: tf.Tensor, y: tf.Tensor) =>
        tf.reshape(
          tf.matMul(
            tf.reshape(x, aView as [number, number, number]) as tf.Tensor3D,
            tf.reshape(y, bView as [number, number, number]) as tf.Tensor3D,
            opts.transposeA,
            opts.transposeB,
          ),
          outShape,
        );
      const ours = (x: tf.Tensor, y: tf.Tensor) => viewedMatMul(x, y, aView, bView, outShape, opts);
      const value = ours(a, b);
      expect(value.shape).toEqual(outShape);
      expectClose(value.dataSync(), ref(a, b).dataSync(), { rtol: 1e-5, atol: 1e-6 });
      const w = randomTensor(6, outShape);
      const gRef = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(ref(x, y), w)))([a, b]);
      const gOurs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(ours(x, y), w)))([a, b]);
      expect(gOurs[0].shape).toEqual(sa);
      expect(gOurs[1].shape).toEqual(sb);
      expectClose(gOurs[0].dataSync(), gRef[0].dataSync(), { rtol: 1e-4, atol: 1e-5 });
      expectClose(gOurs[1].dataSync(), gRef[1].dataSync(), { rtol: 1e-4, atol: 1e-5 });
      await expectNoLeak(() =>
        tf.dispose(tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(ours(x, y)))([a, b])),
      );
      tf.dispose([a, b, w, value, ...gRef, ...gOurs]);
    });
  }

  it('runs no reshape in either pass where the SIMD kernel runs (wasm, cpu)', async () => {
    const t = randomTensor(7, [2, 5, 3]);
    const dz = randomTensor(8, [2, 5, 4]);
    const dy = randomTensor(9, [3, 4]); // the upstream gradient given: no tf.sum (its gradient reshapes)
    const info = await tf.profile(() =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        viewedMatMul(x, y, [1, 10, 3], [1, 10, 4], [3, 4], { transposeA: true }),
      )([t, dz], dy),
    );
    const names = info.kernels.map((k) => k.name);
    if (['wasm', 'cpu'].includes(tf.getBackend())) {
      expect(names).not.toContain('Reshape');
      expect(names.filter((n) => n === 'SetgenBatchMatMul')).toHaveLength(3); // value, dA, dB
    }
    tf.dispose([t, dz, dy, ...(info.result as tf.Tensor[])]);
  });

  it('names views that do not fit the operands or make no product, and non-float32 operands', async () => {
    const a = tf.zeros([2, 5, 3]);
    const b = tf.zeros([2, 5, 4]);
    const call =
      (aView: number[], bView: number[], out: number[], transposeA = true) =>
      () =>
        viewedMatMul(a, b, aView, bView, out, { transposeA });
    expect(call([1, 9, 3], [1, 10, 4], [3, 4])).toThrow(ShapeError); // 27 ≠ 30 elements
    expect(call([1, 10, 3], [1, 10, 4], [3, 4], false)).toThrow(/do not make a product of shape \[3,4\]/);
    expect(call([1, 10, 3], [1, 10, 4], [2, 4])).toThrow(/views \[1,10,3\]ᵀ of a \[2,5,3\]/);
    expect(call([2, 5, 3], [1, 10, 4], [6, 4])).toThrow(ShapeError); // batch sizes differ
    expect(call([10, 3], [1, 10, 4], [3, 4])).toThrow(ShapeError); // not 3-D
    await expectNoLeak(call([1, 9, 3], [1, 10, 4], [3, 4]));
    const i = tf.zeros([2, 5, 4], 'int32');
    expect(() => viewedMatMul(a, i, [1, 10, 3], [1, 10, 4], [3, 4], { transposeA: true })).toThrow(
      /expected float32 tensors, got a float32 and b int32/,
    );
    tf.dispose([a, b, i]);
  });
});

describeBackends('gatherRows', () => {
  it('gathers rows and scatter-adds the gradient (repeated indices accumulate)', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const idx = [2, 0, 2];
    const out = gatherRows(x, idx);
    expect(Array.from(out.dataSync())).toEqual([5, 6, 1, 2, 5, 6]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.mul(
          gatherRows(t, idx),
          tf.tensor2d([
            [1, 1],
            [2, 2],
            [3, 3],
          ]),
        ),
      ),
    )(x);
    expect(Array.from(g.dataSync())).toEqual([2, 2, 0, 0, 4, 4]);
    tf.dispose([x, out, g]);
  });

  it('rejects an index out of range, leaking nothing', async () => {
    const x = tf.zeros([3, 2]);
    expect(() => gatherRows(x, [0, 3])).toThrow(/indices\[1\]/);
    await expectNoLeak(() => gatherRows(x, [0, 3]));
    x.dispose();
  });
});
