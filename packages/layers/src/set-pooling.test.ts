import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  testRandom,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { PNA_STD_EPSILON, SetPooling, setPooling, setPoolingLayer } from './set-pooling.js';

const sets = [
  [
    [1, -2],
    [3, 5],
    [-4, 0.5],
  ],
  [[2, 7]],
  [],
];

function padded(): { x: tf.Tensor3D; mask: tf.Tensor2D } {
  // junk at the padded rows (even NaN and Infinity) must not matter
  const rows = sets.map((s) => [
    ...s,
    ...Array.from({ length: 3 - s.length }, () => [Number.NaN, Number.POSITIVE_INFINITY]),
  ]);
  return {
    x: tf.tensor3d(rows),
    mask: tf.tensor2d(sets.map((s) => [0, 1, 2].map((i) => (i < s.length ? 1 : 0)))),
  };
}

function hostPool(set: number[][], mode: string): number[] {
  const channels = [0, 1].map((c) => set.map((row) => row[c]));
  const stat = (values: number[]) => {
    if (values.length === 0) return { sum: 0, mean: 0, max: 0, std: 0 };
    const sum = values.reduce((a, b) => a + b, 0);
    const mean = sum / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
    return { sum, mean, max: Math.max(...values), std: Math.sqrt(variance + PNA_STD_EPSILON) };
  };
  const s = channels.map(stat);
  if (mode === 'pna') return (['sum', 'mean', 'max', 'std'] as const).flatMap((k) => s.map((e) => e[k]));
  return s.map((e) => e[mode as 'sum']);
}

describeBackends('setPooling', () => {
  for (const mode of ['sum', 'mean', 'max', 'pna'] as const) {
    it(`'${mode}' pools valid elements only; empty sets give zeros`, () => {
      const { x, mask } = padded();
      const out = setPooling(x, mask, mode);
      expect(out.shape).toEqual([3, mode === 'pna' ? 8 : 2]);
      expectClose(
        out.dataSync(),
        sets.flatMap((s) => hostPool(s, mode)),
        { rtol: 1e-5, atol: 1e-6 },
      );
      tf.dispose([x, mask, out]);
    });
  }

  it('weights by soft element weights (DSPN) and differentiates w.r.t. them', () => {
    const x = tf.tensor3d([
      [
        [1, -2],
        [3, 5],
        [-4, 0.5],
      ],
    ]);
    const soft = tf.tensor2d([[0.5, 1, 0]]);
    const elements = tf.tensor2d([[1, 1, 0]]);
    const out = setPooling(x, elements, 'pna', { weights: soft });
    const w = [0.5, 1];
    const rows = [0, 1].map((c) => [x.arraySync()[0][0][c], x.arraySync()[0][1][c]]);
    const stats = rows.map((v) => {
      const total = v[0] * w[0] + v[1] * w[1];
      const mean = total / 1.5;
      const variance = (w[0] * (v[0] - mean) ** 2 + w[1] * (v[1] - mean) ** 2) / 1.5;
      return { total, mean, max: Math.max(...v), std: Math.sqrt(variance + PNA_STD_EPSILON) };
    });
    const expected = (['total', 'mean', 'max', 'std'] as const).flatMap((k) => stats.map((e) => e[k]));
    expectClose(out.dataSync(), expected, { rtol: 1e-5 });
    const probe = tf.tensor1d([0.3, -0.2, 0.5, 0.1, 0.2, 0.4, -0.1, 0.7]);
    const f = (w: tf.Tensor) =>
      tf.sum(tf.mul(setPooling(x, null, 'pna', { weights: w as tf.Tensor2D }), probe)) as tf.Scalar;
    const free = tf.tensor2d([[0.5, 1, 0.25]]);
    const g = tf.grad(f)(free);
    expectClose(g.dataSync(), finiteDifferenceGradient(f, free, 1e-3), { rtol: 1e-2, atol: 2e-3 });
    tf.dispose([x, soft, elements, out, probe, free, g]);
  });

  it('a mask selects and never weights: 0.3 and NaN are padding, 2 is an element', () => {
    const x = tf.tensor3d([
      [
        [1, -2],
        [3, 5],
        [-4, 0.5],
        [7, 7],
      ],
    ]);
    const odd = tf.tensor2d([[2, 1, 0.3, Number.NaN]]);
    const binary = tf.tensor2d([[1, 1, 0, 0]]);
    for (const mode of ['sum', 'mean', 'max', 'pna'] as const) {
      const a = setPooling(x, odd, mode);
      const b = setPooling(x, binary, mode);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      tf.dispose([a, b]);
    }
    tf.dispose([x, odd, binary]);
  });

  it('accepts a bool mask', () => {
    const { x, mask } = padded();
    const boolMask = tf.cast(mask, 'bool') as tf.Tensor2D;
    const a = setPooling(x, mask, 'pna');
    const b = setPooling(x, boolMask, 'pna');
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, mask, boolMask, a, b]);
  });

  it('is permutation invariant, and no mask = all elements', () => {
    const rand = testRandom(3);
    const values = Array.from({ length: 4 }, () => [rand(), rand() - 0.5]);
    const x = tf.tensor3d([values]);
    const shuffled = tf.tensor3d([[values[2], values[0], values[3], values[1]]]);
    const a = setPooling(x, null, 'pna');
    const b = setPooling(shuffled, undefined, 'pna');
    expectClose(b.dataSync(), a.dataSync(), { rtol: 1e-6 });
    expectClose(a.dataSync(), hostPool(values, 'pna'), { rtol: 1e-5 });
    tf.dispose([x, shuffled, a, b]);
  });

  it('gradients match finite differences (mean, max, pna) and skip padding', () => {
    const x = tf.tensor3d([
      [
        [0.1, 0.7],
        [0.5, -0.3],
        [0.9, 0.2],
      ],
    ]);
    const mask = tf.tensor2d([[1, 1, 0]]);
    for (const mode of ['mean', 'max', 'pna'] as const) {
      const probe = tf.tensor1d(Array.from({ length: mode === 'pna' ? 8 : 2 }, (_, i) => 0.3 + 0.1 * i));
      const f = (t: tf.Tensor) =>
        tf.sum(tf.mul(setPooling(t as tf.Tensor3D, mask, mode), probe)) as tf.Scalar;
      const g = tf.grad(f)(x);
      expectClose(g.dataSync(), finiteDifferenceGradient(f, x, 1e-3), { rtol: 1e-2, atol: 2e-3 });
      expect(Array.from(g.dataSync().slice(4))).toEqual([0, 0]);
      tf.dispose([probe, g]);
    }
    tf.dispose([x, mask]);
  });

  it("max's gradient is tf.max's (every tied maximum gets dy), 0 at padding and for empty sets", async () => {
    // set 0: ties at the maximum in both channels, NaN padding; set 1: empty
    const x = tf.tensor3d([
      [
        [1, 5],
        [3, 5],
        [3, -1],
        [Number.NaN, Number.POSITIVE_INFINITY],
      ],
      [
        [7, 7],
        [Number.NaN, 1],
        [0, 0],
        [2, 2],
      ],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [0, 0, 0, 0],
    ]);
    const dy = tf.tensor2d([
      [0.5, -2],
      [3, 4],
    ]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(setPooling(t as tf.Tensor3D, mask, 'max'), dy)) as tf.Scalar;
    const g = tf.grad(f)(x);
    const valid = tf.slice(x, [0, 0, 0], [1, 3, 2]);
    const reference = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.max(t, 1), tf.slice(dy, [0, 0], [1, 2]))))(
      valid,
    );
    const expected = [
      ...Array.from(reference.dataSync(), (v) => v + 0),
      0,
      0,
      ...new Array<number>(8).fill(0),
    ];
    expect(Array.from(g.dataSync(), (v) => v + 0)).toEqual(expected);
    expect(Array.from(g.dataSync().slice(0, 6), (v) => v + 0)).toEqual([0, -2, 0.5, -2, 0.5, 0]);
    const pooled = setPooling(x, mask, 'max');
    expect(Array.from(pooled.dataSync())).toEqual([3, 5, 0, 0]);
    await expectNoLeak(() => {
      tf.dispose(tf.grad(f)(x));
    });
    tf.dispose([x, mask, dy, g, valid, reference, pooled]);
  });

  it('as a layer: kwargs.mask, output shape, config round trip, in a model', () => {
    const layer = setPoolingLayer({ mode: 'pna' });
    const { x, mask } = padded();
    const out = layer.apply(x, { mask }) as tf.Tensor;
    const direct = setPooling(x, mask, 'pna');
    expect(Array.from(out.dataSync())).toEqual(Array.from(direct.dataSync()));
    expect(layer.computeOutputShape([null, null, 5])).toEqual([null, 20]);
    expect(new SetPooling(layer.getConfig() as any).mode).toBe('pna');
    const input = tfl.input({ shape: [null, 2] });
    const model = tfl.model({
      inputs: input,
      outputs: setPoolingLayer({ mode: 'max' }).apply(input) as tfl.SymbolicTensor,
    });
    const pred = model.predict(x) as tf.Tensor;
    expect(pred.shape).toEqual([3, 2]);
    tf.dispose([x, mask, out, direct, pred]);
  });

  it('rejects a bad mode or mask with typed errors, leaking nothing', async () => {
    const { x, mask } = padded();
    expect(() => setPooling(x, mask, 'median' as any)).toThrow(ConfigError);
    expect(() => new SetPooling({ mode: 'min' as any })).toThrow(/mode: expected/);
    const bad = tf.ones([3, 4]) as tf.Tensor2D;
    expect(() => setPooling(x, bad)).toThrow(ShapeError);
    expect(() => setPooling(tf.ones([3, 2]) as any, null)).toThrow(/\[B,N,D\]/);
    await expectNoLeak(() => setPooling(x, bad));
    await expectNoLeak(() => setPooling(x, mask, 'median' as any));
    tf.dispose([x, mask, bad]);
  });
});
