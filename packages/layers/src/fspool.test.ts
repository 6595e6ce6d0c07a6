import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  loadFixture,
  randomTensor,
  saveToMemory,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { FSPool, fspool } from './fspool.js';

interface FSPoolCase {
  name: string;
  B: number;
  N: number;
  C: number;
  n_pieces: number;
  sizes: number[];
  mask: boolean[][];
  x_BNC: number[][][];
  weight_C_by_npieces_plus_1: number[][];
  output: number[][];
  output_if_size1_uses_only_real_element?: number[][];
}

const fixture = loadFixture<{ cases: FSPoolCase[] }>(import.meta.dirname, 'fspool.json');

function layerWith(weight: number[][], numPieces = 20): FSPool {
  const layer = fspool({ numPieces, seed: 1 });
  layer.build([null, null, weight.length]);
  const w = tf.tensor2d(weight);
  layer.setWeights([w]);
  w.dispose();
  return layer;
}

describeBackends('FSPool', () => {
  for (const c of fixture.cases) {
    it(`matches the reference fixture (${c.name})`, () => {
      const layer = layerWith(c.weight_C_by_npieces_plus_1, c.n_pieces);
      const x = tf.tensor3d(c.x_BNC);
      const mask = tf.tensor2d(c.mask.map((row) => row.map(Number)));
      const out = layer.apply(x, { mask }) as tf.Tensor;
      expect(out.shape).toEqual([c.B, c.C]);
      // sets of size 1 pool only their element (the reference also pools one padding zero)
      const expected = c.output_if_size1_uses_only_real_element ?? c.output;
      expectClose(out.dataSync(), expected.flat(), { rtol: 1e-5, atol: 1e-5 });
      if (c.output_if_size1_uses_only_real_element) {
        const size1 = c.sizes.indexOf(1);
        const diff = c.output[size1].some((v, k) => Math.abs(v - expected[size1][k]) > 1e-3);
        expect(diff, 'the fixture distinguishes the two size-1 conventions').toBe(true);
      }
      tf.dispose([x, mask, out]);
    });
  }

  it('full sets need no mask: same result as an all-ones mask', () => {
    const c = fixture.cases[0];
    const layer = layerWith(c.weight_C_by_npieces_plus_1);
    const x = tf.tensor3d(c.x_BNC);
    const out = layer.apply(x) as tf.Tensor;
    expectClose(out.dataSync(), c.output.flat(), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([x, out]);
  });

  it('is permutation invariant and ignores padding (padded batch == sets one by one)', () => {
    const layer = fspool({ seed: 3 });
    const x = randomTensor(5, [2, 6, 3]) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 0, 1, 1, 0, 1],
      [1, 1, 1, 1, 1, 1],
    ]);
    const out = layer.apply(x, { mask }) as tf.Tensor;
    // set 0 alone, shuffled, with its padding removed
    const x0 = tf.gather(x, [0]) as tf.Tensor3D;
    const alone = tf.gather(x0, [5, 3, 0, 2], 1);
    const out0 = layer.apply(alone) as tf.Tensor;
    const x1 = tf.gather(x, [1]);
    const shuffled = tf.gather(x1, [4, 1, 5, 0, 3, 2], 1);
    const out1 = layer.apply(shuffled) as tf.Tensor;
    expectClose(out.dataSync(), [...out0.dataSync(), ...out1.dataSync()], { rtol: 1e-5, atol: 1e-6 });
    // junk at padded positions changes nothing
    const junk = tf.add(x, tf.mul(tf.sub(1, tf.expandDims(mask, 2)), 1000)) as tf.Tensor3D;
    const outJunk = layer.apply(junk, { mask }) as tf.Tensor;
    expectClose(outJunk.dataSync(), out.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    const nan = tf.where(
      tf.cast(tf.expandDims(mask, 2), 'bool'),
      x,
      tf.fill(x.shape, Number.NaN),
    ) as tf.Tensor3D;
    const outNan = layer.apply(nan, { mask }) as tf.Tensor;
    expectClose(outNan.dataSync(), out.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([x, mask, out, x0, alone, out0, x1, shuffled, out1, junk, outJunk, nan, outNan]);
  });

  it('gradients w.r.t. x and the weights match finite differences', () => {
    const layer = fspool({ numPieces: 4, seed: 2 });
    const x = randomTensor(9, [2, 4, 2]) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
    const probe = randomTensor(4, [2, 2]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t, { mask }) as tf.Tensor, probe)) as tf.Scalar;
    const gx = tf.grad(f)(x);
    expectClose(gx.dataSync(), finiteDifferenceGradient(f, x, 1e-3), { rtol: 1e-2, atol: 1e-3 });
    // padded element gets no gradient
    expect(Array.from(gx.dataSync().slice(6, 8))).toEqual([0, 0]);

    const w = layer.getWeights()[0];
    const fw = (weight: tf.Tensor) => {
      layer.setWeights([weight]);
      return f(x);
    };
    const expected = finiteDifferenceGradient(fw, w, 1e-3);
    layer.setWeights([w]);
    const { value, grads } = tf.variableGrads(() => f(x));
    expectClose(Object.values(grads)[0].dataSync(), expected, { rtol: 1e-2, atol: 1e-3 });
    tf.dispose([x, mask, probe, gx, value, ...Object.values(grads)]);
  });

  it('has second-order gradients (DSPN inner loop): d/dW of |∂f/∂x|² matches finite differences', () => {
    const layer = fspool({ numPieces: 3, seed: 6 });
    const x = randomTensor(31, [1, 4, 2]) as tf.Tensor3D;
    const mask = tf.tensor2d([[1, 1, 1, 0]]);
    const probe = randomTensor(32, [1, 2]);
    (layer.apply(x, { mask }) as tf.Tensor).dispose();
    const inner = (y: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(layer.apply(y, { mask }) as tf.Tensor), probe)) as tf.Scalar;
    const outer = () => tf.sum(tf.square(tf.grad(inner)(x))) as tf.Scalar;
    const w = layer.getWeights()[0];
    const expected = finiteDifferenceGradient(
      (t) => {
        layer.setWeights([t]);
        return outer();
      },
      w,
      1e-2,
    );
    layer.setWeights([w]);
    const { value, grads } = tf.variableGrads(outer);
    expectClose(Object.values(grads)[0].dataSync(), expected, { rtol: 2e-2, atol: 2e-3 });
    expect(Array.from(expected).some((v) => Math.abs(v) > 1e-2)).toBe(true);
    tf.dispose([x, mask, probe, value, ...Object.values(grads)]);
  });

  it('unpool restores element order and is the transpose of pool (⟨pool(x), y⟩ = ⟨x, unpool(y)⟩ for the sort of x)', () => {
    const layer = fspool({ numPieces: 5, seed: 7 });
    const x = randomTensor(12, [2, 5, 3]) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 1, 0, 1, 0],
      [1, 1, 1, 1, 1],
    ]);
    const { pooled, permutation } = layer.pool(x, mask);
    expect(permutation.shape).toEqual([2, 5, 3]);
    expect(permutation.dtype).toBe('int32');
    // ranks of set 0, channel 0: valid elements by descending value, then padding 2, 4
    const xv = x.arraySync();
    const perm = permutation.arraySync();
    const valid0 = [0, 1, 3].sort((i, j) => xv[0][j][0] - xv[0][i][0]);
    expect(perm[0].map((row) => row[0])).toEqual([...valid0, 2, 4]);
    const y = randomTensor(13, [2, 3]) as tf.Tensor2D;
    const unpooled = layer.unpool(y, permutation, mask);
    expect(unpooled.shape).toEqual([2, 5, 3]);
    const u = unpooled.arraySync();
    expect([...u[0][2], ...u[0][4]].every((v) => v === 0)).toBe(true);
    // pool is linear in x for a fixed order, and unpool is its transpose
    const lhs = tf.sum(tf.mul(pooled, y)).dataSync()[0];
    const rhs = tf.sum(tf.mul(x, tf.mul(unpooled, tf.expandDims(mask, 2)))).dataSync()[0];
    expectClose(lhs, rhs, { rtol: 1e-5 });
    tf.dispose([x, mask, pooled, permutation, y, unpooled]);
  });

  it('ranks by descending value with ties to the lower index, negative values and zeros included', () => {
    const layer = fspool({ numPieces: 2, seed: 1 });
    const column = [0.5, -2, 0.5, 0, -0.25, 3, -2, 1e-30];
    const x = tf.tensor3d([column.map((v) => [v, -v])]);
    const mask = tf.tensor2d([[1, 1, 1, 1, 0, 1, 1, 1]]);
    const { pooled, permutation } = layer.pool(x, mask);
    const perm = permutation.arraySync()[0];
    expect(perm.map((row) => row[0])).toEqual([5, 0, 2, 7, 3, 1, 6, 4]);
    expect(perm.map((row) => row[1])).toEqual([1, 6, 3, 7, 0, 2, 5, 4]);
    tf.dispose([x, mask, pooled, permutation]);
  });

  it('saves and loads through tf.io inside a model with equal outputs', async () => {
    const input = tfl.input({ shape: [null, 3] });
    const output = fspool({ numPieces: 6, seed: 4 }).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const saved = await saveToMemory(model);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const x = randomTensor(21, [2, 7, 3]);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(b.shape).toEqual([2, 3]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(JSON.stringify(saved.modelTopology)).toContain('SetgenFSPool');
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('leaks nothing in call, pool/unpool, a training step and a throwing call', async () => {
    const layer = fspool({ numPieces: 3, seed: 1 });
    const x = randomTensor(1, [2, 4, 2]) as tf.Tensor3D;
    const mask = tf.tensor2d([
      [1, 1, 0, 0],
      [1, 1, 1, 0],
    ]);
    layer.apply(x, { mask }); // build
    const before = tf.memory().numTensors;
    (layer.apply(x, { mask }) as tf.Tensor).dispose();
    const { pooled, permutation } = layer.pool(x, mask);
    tf.dispose([pooled, permutation, layer.unpool(pooled, permutation, mask)]);
    const optimizer = tf.train.sgd(0.1);
    optimizer.minimize(() => tf.sum(layer.apply(x, { mask }) as tf.Tensor) as tf.Scalar);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const wrong = tf.zeros([2, 4, 5]);
    await expectNoLeak(() => layer.apply(wrong));
    tf.dispose([x, mask, wrong]);
  });

  it('can be disposed after direct use (pool), freeing its weights', () => {
    const before = tf.memory().numTensors;
    const layer = fspool({ seed: 1 });
    const x = tf.zeros([1, 3, 2]) as tf.Tensor3D;
    const { pooled, permutation } = layer.pool(x);
    tf.dispose([x, pooled, permutation]);
    expect(tf.memory().numTensors).toBe(before + 1);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad configs and shapes with typed errors naming the argument', () => {
    expect(() => fspool({ numPieces: 0 })).toThrow(ConfigError);
    expect(() => new FSPool({ numPieces: 2.5 })).toThrow(/numPieces/);
    const layer = fspool({ seed: 1 });
    const x = tf.zeros([2, 4, 3]) as tf.Tensor3D;
    (layer.apply(x) as tf.Tensor).dispose();
    const wrong = tf.zeros([2, 4, 5]);
    expect(() => layer.apply(wrong)).toThrow(ShapeError);
    expect(() => layer.apply(wrong)).toThrow(/3 channels.*\[2,4,5\]/);
    const badMask = tf.ones([2, 3]);
    expect(() => layer.pool(x, badMask as tf.Tensor2D)).toThrow(/mask.*\[2,4\]/);
    expect(() => layer.apply(x, { mask: badMask })).toThrow(ShapeError);
    const { pooled, permutation } = layer.pool(x);
    const badPooled = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => layer.unpool(badPooled, permutation)).toThrow(/pooled: expected \[B, 3\]/);
    expect(() => fspool().unpool(pooled, permutation)).toThrow(ConfigError);
    tf.dispose([x, wrong, badMask, pooled, permutation, badPooled]);
  });
});
