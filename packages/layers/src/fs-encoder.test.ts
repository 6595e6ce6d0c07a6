import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  prefixMask,
  randomSet,
  randomTensor,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { FSEncoder, fsEncoder } from './fs-encoder.js';
import { expectPermutationInvariant } from './testing.js';

/** float64 reference of the 'dspn' variant: [x, m] → relu → relu → linear, /N, FSPool over N. */
function referenceDspn(
  x: number[][],
  mask: number[],
  weights: number[][][] | number[][],
  pieces: number,
): number[] {
  const w = weights as number[][][];
  const [k1, b1, k2, b2, k3, b3, pool] = [w[0], w[1][0], w[2], w[3][0], w[4], w[5][0], w[6]];
  const dense = (row: number[], k: number[][], b: number[], relu: boolean) =>
    b.map((bias, j) => {
      const v = row.reduce((s, xi, i) => s + xi * k[i][j], bias);
      return relu ? Math.max(v, 0) : v;
    });
  const n = x.length;
  const h = x.map((row, i) => {
    const a = dense([...row, mask[i]], k1, b1, true);
    return dense(dense(a, k2, b2, true), k3, b3, false).map((v) => v / n);
  });
  return pool.map((wc, c) => {
    const sorted = h.map((r) => r[c]).sort((p, q) => q - p);
    return sorted.reduce((s, v, k) => {
      const t = (pieces * k) / (n - 1);
      const knot = Math.min(Math.floor(t), pieces);
      const f = t - knot;
      return s + v * ((1 - f) * wc[knot] + (knot < pieces ? f * wc[knot + 1] : 0));
    }, 0);
  });
}

describeBackends('FSEncoder', () => {
  it("'dspn' matches a float64 reference of DSPN's FSEncoder (mask channel, /N, padding pooled)", () => {
    const layer = fsEncoder({ hiddenUnits: 3, outputDim: 2, numPieces: 3, seed: 1 });
    const x = randomSet(2, [1, 4, 2]);
    const mask = tf.tensor2d([[1, 0.4, 1, 0]]);
    tf.dispose(layer.encode(x, mask));
    // non-zero biases so every term of the reference is exercised
    const weights = layer
      .getWeights()
      .map((w, i) => tf.tidy(() => (i % 2 === 1 && i < 6 ? randomTensor(10 + i, w.shape) : w.clone())));
    layer.setWeights(weights);
    const out = layer.encode(x, mask);
    const asNested = weights.map((w) =>
      w.rank === 1 ? [w.arraySync() as number[]] : (w.arraySync() as number[][]),
    );
    const expected = referenceDspn(
      (x.arraySync() as number[][][])[0],
      (mask.arraySync() as number[][])[0],
      asNested as number[][][],
      3,
    );
    expectClose(out.dataSync(), expected, { rtol: 1e-4, atol: 1e-6 });
    tf.dispose([x, mask, out, ...weights]);
    layer.dispose();
  });

  it('weight order: dense1..3 kernel/bias then the FSPool weight; relational has two dense layers', () => {
    const layer = fsEncoder({ hiddenUnits: 5, outputDim: 3, numPieces: 4, seed: 1 });
    const rn = fsEncoder({ hiddenUnits: 5, outputDim: 3, numPieces: 4, relational: true, seed: 1 });
    const tspn = fsEncoder({ hiddenUnits: 5, outputDim: 3, variant: 'tspn', seed: 1 });
    const x = randomSet(1, [2, 3, 2]);
    tf.dispose([layer.encode(x), rn.encode(x), tspn.encode(x)]);
    expect(layer.getWeights().map((w) => w.shape)).toEqual([[3, 5], [5], [5, 5], [5], [5, 3], [3], [3, 5]]);
    expect(rn.getWeights().map((w) => w.shape)).toEqual([[6, 5], [5], [5, 3], [3], [3, 5]]);
    expect(tspn.getWeights().map((w) => w.shape)).toEqual([[2, 5], [5], [5, 5], [5], [5, 3], [3], [3, 21]]);
    tf.dispose(x);
    for (const l of [layer, rn, tspn]) l.dispose();
  });

  for (const [name, args] of [
    ['dspn', { variant: 'dspn' }],
    ['tspn', { variant: 'tspn' }],
    ['relational', { relational: true }],
  ] as const) {
    it(`${name}: permutation-invariant with a mask`, () => {
      const layer = fsEncoder({ hiddenUnits: 6, outputDim: 4, numPieces: 5, seed: 3, ...args });
      const mask = prefixMask([4, 2], 5);
      expectPermutationInvariant((x, m) => layer.encode(x, m), { inputShape: [2, 5, 3], mask, seed: 4 });
      mask.dispose();
      layer.dispose();
    });
  }

  it("'tspn': padding never changes the result (more columns, NaN in padding), nor its gradients", () => {
    const layer = fsEncoder({ hiddenUnits: 6, outputDim: 4, variant: 'tspn', seed: 5 });
    const x = randomSet(6, [2, 4, 2]);
    const mask = prefixMask([4, 2], 4);
    // (fillPadding mixes with a product, and NaN·0 = NaN, so write the NaN with where)
    const nanPadded = tf.where(
      tf.cast(tf.expandDims(mask, 2), 'bool'),
      x,
      tf.fill(x.shape, Number.NaN),
    ) as tf.Tensor3D;
    const wide = tf.concat([nanPadded, tf.fill([2, 3, 2], Number.NaN)], 1) as tf.Tensor3D;
    const wideMask = tf.concat([mask, tf.zeros([2, 3])], 1) as tf.Tensor2D;
    const trimmed = tf.concat(
      [
        tf.slice(x, [0, 0, 0], [1, 4, 2]),
        tf.pad(tf.slice(x, [1, 0, 0], [1, 2, 2]), [
          [0, 0],
          [0, 2],
          [0, 0],
        ]),
      ],
      0,
    ) as tf.Tensor3D;
    const a = layer.encode(trimmed, mask);
    const b = layer.encode(wide, wideMask);
    expectClose(b.dataSync(), a.dataSync(), { rtol: 1e-6, atol: 1e-7 });
    const { grads } = tf.variableGrads(() => tf.sum(layer.encode(wide, wideMask)) as tf.Scalar);
    for (const g of Object.values(grads)) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, mask, nanPadded, wide, wideMask, trimmed, a, b, ...Object.values(grads)]);
    layer.dispose();
  });

  it("'dspn' has second-order gradients in x and the mask: d/dW of |∂L/∂x|² + |∂L/∂m|² matches finite differences", () => {
    const layer = fsEncoder({ hiddenUnits: 3, outputDim: 2, numPieces: 2, seed: 8 });
    const x = randomSet(9, [1, 3, 2]);
    const mask = tf.tensor2d([[1, 0.7, 0.2]]);
    const probe = randomTensor(10, [1, 2], 300);
    tf.dispose(layer.encode(x, mask));
    const inner = (y: tf.Tensor, m: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(layer.encode(y as tf.Tensor3D, m as tf.Tensor2D)), probe)) as tf.Scalar;
    const outer = () =>
      tf.tidy(() => {
        const [gx, gm] = tf.grads(inner)([x, mask]);
        return tf.add(tf.sum(tf.square(gx)), tf.sum(tf.square(gm))) as tf.Scalar;
      });
    const weights = layer.getWeights().map((w) => w.clone());
    const k = 2; // the second dense kernel
    const expected = finiteDifferenceGradient(
      (t) => {
        layer.setWeights(weights.map((w, i) => (i === k ? t : w)));
        return outer();
      },
      weights[k],
      1e-2,
    );
    layer.setWeights(weights);
    const { value, grads } = tf.variableGrads(outer, [layer.weights[k].read() as tf.Variable]);
    const got = Object.values(grads)[0].dataSync();
    expectClose(got, expected, { rtol: 3e-2, atol: 3e-3 });
    expect(Array.from(expected).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    tf.dispose([x, mask, probe, value, ...weights, ...Object.values(grads)]);
    layer.dispose();
  });

  it('encodeWithInputGradient: g and ∂L/∂(x, m) as tf.grads gives them, and the same second-order gradients', () => {
    const layer = fsEncoder({ hiddenUnits: 5, outputDim: 3, numPieces: 2, seed: 4 });
    const x = randomSet(11, [2, 4, 2]);
    const mask = tf.tensor2d([
      [1, 0.7, 0.2, 0],
      [0.4, 1, 1, 0.9],
    ]);
    const probe = randomTensor(12, [2, 3], 300);
    tf.dispose(layer.encode(x, mask));
    // L(g) = Σ probe·g²: ∂L/∂g = 2·probe·g
    const loss = (y: tf.Tensor, m: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(layer.encode(y as tf.Tensor3D, m as tf.Tensor2D)), probe)) as tf.Scalar;
    const lossGradient = (g: tf.Tensor2D) => tf.mul(tf.mul(g, probe), 2) as tf.Tensor2D;
    const count = tf.memory().numTensors;
    const ours = layer.encodeWithInputGradient(x, mask, lossGradient);
    expect(tf.memory().numTensors).toBe(count + 3);
    const encoded = layer.encode(x, mask);
    const [gx, gm] = tf.grads(loss)([x, mask]);
    expectClose(ours.encoded.dataSync(), encoded.dataSync(), { rtol: 1e-6, atol: 1e-7 });
    expectClose(ours.dx.dataSync(), gx.dataSync(), { rtol: 1e-4, atol: 1e-6 });
    expectClose(ours.dmask.dataSync(), gm.dataSync(), { rtol: 1e-4, atol: 1e-6 });
    expect(Array.from(gx.dataSync()).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    // second order: d/d(W, x, m) of Σ r·∂L/∂x + Σ q·∂L/∂m, through the written-out backward pass
    const [r, q] = [randomTensor(13, [2, 4, 2]), randomTensor(14, [2, 4])];
    const weights = layer.weights.map((w) => w.read() as tf.Variable);
    type First = (y: tf.Tensor, m: tf.Tensor) => tf.Tensor[];
    const explicit: First = (y, m) => {
      const out = layer.encodeWithInputGradient(y as tf.Tensor3D, m as tf.Tensor2D, lossGradient);
      out.encoded.dispose();
      return [out.dx, out.dmask];
    };
    const nested: First = (y, m) => tf.grads(loss)([y, m]);
    const objective = (first: First) => (y: tf.Tensor, m: tf.Tensor) =>
      tf.tidy(() => {
        const [dx, dm] = first(y, m);
        return tf.add(tf.sum(tf.mul(dx, r)), tf.sum(tf.mul(dm, q))) as tf.Scalar;
      });
    const second = (first: First) => {
      const { value, grads } = tf.variableGrads(() => objective(first)(x, mask), weights);
      const [dx2, dm2] = tf.grads(objective(first))([x, mask]);
      const out = [...weights.map((w) => grads[w.name].dataSync()), dx2.dataSync(), dm2.dataSync()];
      tf.dispose([value, dx2, dm2, ...Object.values(grads)]);
      return out;
    };
    const [a, b] = [second(explicit), second(nested)];
    a.forEach((g, i) => {
      expectClose(g, b[i], { rtol: 1e-3, atol: 1e-6 });
    });
    expect(a.filter((g) => Array.from(g).some((v) => Math.abs(v) > 1e-4)).length).toBeGreaterThan(6);
    tf.dispose([x, mask, probe, r, q, encoded, gx, gm, ours.encoded, ours.dx, ours.dmask]);
    layer.dispose();
  });

  it("encodeWithInputGradient is the 'dspn' variant's over elements only (ConfigError), and leaks nothing", async () => {
    const x = randomSet(1, [2, 3, 2]);
    const id = (g: tf.Tensor2D) => tf.onesLike(g) as tf.Tensor2D;
    for (const args of [{ variant: 'tspn' }, { relational: true }] as const) {
      const other = fsEncoder({ hiddenUnits: 4, outputDim: 3, seed: 1, ...args });
      tf.dispose(other.encode(x));
      expect(() => other.encodeWithInputGradient(x, null, id)).toThrow(ConfigError);
      other.dispose();
    }
    const layer = fsEncoder({ hiddenUnits: 4, outputDim: 3, seed: 1 });
    tf.dispose(layer.encode(x));
    await expectNoLeak(() => {
      const out = layer.encodeWithInputGradient(x, null, id);
      tf.dispose([out.encoded, out.dx, out.dmask]);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(layer.encodeWithInputGradient(x, null, id).dx) as tf.Scalar,
        layer.weights.map((w) => w.read() as tf.Variable),
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    x.dispose();
    layer.dispose();
  });

  it('leaves no tensors behind, also when it throws', async () => {
    const layer = fsEncoder({ hiddenUnits: 4, outputDim: 3, seed: 1 });
    const x = randomSet(1, [2, 3, 2]);
    tf.dispose(layer.encode(x));
    const mask = prefixMask([3, 1], 3);
    await expectNoLeak(() => tf.dispose(layer.encode(x, mask)));
    mask.dispose();
    const bad = randomSet(1, [2, 3, 5]);
    await expectNoLeak(() => layer.encode(bad));
    tf.dispose([x, bad]);
    layer.dispose();
  });

  it('bad options and inputs are typed errors naming what was expected', () => {
    expect(() => fsEncoder({ hiddenUnits: 0, outputDim: 3 })).toThrow(ConfigError);
    expect(() => fsEncoder({ hiddenUnits: 4, outputDim: 3, variant: 'x' as never })).toThrow(/variant/);
    expect(() => fsEncoder({ hiddenUnits: 4, outputDim: 3, variant: 'tspn', relational: true })).toThrow(
      ConfigError,
    );
    const layer = fsEncoder({ hiddenUnits: 4, outputDim: 3, seed: 1 });
    const x = randomSet(1, [2, 3, 2]);
    tf.dispose(layer.encode(x));
    const wrong = randomSet(1, [2, 3, 4]);
    expect(() => layer.encode(wrong)).toThrow(ShapeError);
    const badMask = tf.ones([2, 4]) as tf.Tensor2D;
    expect(() => layer.encode(x, badMask)).toThrow(/mask/);
    expect(() => layer.encode(tf.ones([3, 2]) as never)).toThrow(ShapeError);
    tf.dispose([x, wrong, badMask]);
    layer.dispose();
  });

  it('getConfig rebuilds the same layer; apply(x, { mask }) = encode(x, mask)', () => {
    const layer = fsEncoder({ hiddenUnits: 4, outputDim: 3, variant: 'tspn', seed: 2 });
    const again = new FSEncoder(layer.getConfig() as never);
    const x = randomSet(3, [2, 3, 2]);
    const mask = prefixMask([3, 2], 3);
    const a = layer.encode(x, mask);
    tf.dispose(again.encode(x, mask));
    again.setWeights(layer.getWeights());
    const b = again.apply(x, { mask }) as tf.Tensor;
    expectClose(b.dataSync(), a.dataSync());
    tf.dispose([x, mask, a, b]);
    layer.dispose();
    again.dispose();
  });
});
