import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  finiteDifferenceGradient,
  loadFixture,
  prefixMask,
  randomSet,
  setsOneByOne,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { isab } from './induced-set-attention-block.js';
import { expectPermutationEquivariant } from './testing.js';

const fixture = loadFixture(import.meta.dirname, 'isab.json');
const flat = (a: unknown): number[] => (a as number[]).flat(Number.POSITIVE_INFINITY) as number[];

/** juho-lee MAB weights in the 'set-transformer' getWeights order. */
function mabWeights(w: Record<string, number[] | number[][]>, ln: boolean): tf.Tensor[] {
  const names = ['W_q', 'b_q', 'W_k', 'b_k', 'W_v', 'b_v', 'W_o', 'b_o'];
  if (ln) names.push('ln0_gamma', 'ln0_beta', 'ln1_gamma', 'ln1_beta');
  return names.map((n) => tf.tensor(w[n]));
}

describeBackends('InducedSetAttentionBlock', () => {
  for (const c of fixture.cases) {
    it(`matches the set_transformer fixture ${c.name} (output and H)`, () => {
      const layer = isab({
        units: c.dim_out,
        numHeads: c.num_heads,
        numInducingPoints: c.num_inds,
        variant: 'set-transformer',
        layerNorm: c.ln,
      });
      const x = tf.tensor3d(c.X);
      layer.apply(x);
      const weights = [
        tf.tensor2d(c.I[0]),
        ...mabWeights(c.mab0_weights, c.ln),
        ...mabWeights(c.mab1_weights, c.ln),
      ];
      layer.setWeights(weights);
      const { out, h } = layer.forward(x);
      expect(out.shape).toEqual([c.X.length, c.X[0].length, c.dim_out]);
      expectClose(out.dataSync(), flat(c.output), { rtol: 1e-4, atol: 1e-5 });
      expectClose(h.dataSync(), flat(c.H_intermediate), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([x, out, h, ...weights]);
      layer.dispose();
    });
  }

  for (const variant of ['setvae', 'set-transformer'] as const) {
    const attention = variant === 'setvae' ? 'slot' : 'softmax';
    it(`${variant}/${attention}: permutation-equivariant, padding never changes a result`, () => {
      const layer = isab({ units: 8, numHeads: 2, numInducingPoints: 3, variant, attention, seed: 5 });
      expectPermutationEquivariant(layer, { inputShape: [2, 6, 5], seed: 1 });
      const x = randomSet(9, [3, 6, 5]);
      const sizes = [6, 2, 4];
      const mask = prefixMask(sizes, 6);
      const xj = fillPadding(x, mask);
      expectPermutationEquivariant(layer, { input: xj, mask, seed: 2 });
      const padded = layer.apply(xj, { mask }) as tf.Tensor;
      const alone = setsOneByOne(x, sizes, (set) => layer.apply(set) as tf.Tensor, 6);
      expectClose(padded.dataSync(), alone.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      const [, projection, broadcast] = layer.apply(xj, { mask, returnAttention: true }) as tf.Tensor[];
      expect(projection.shape).toEqual([3, 2, 3, 6]);
      expect(broadcast.shape).toEqual([3, 2, 6, 3]);
      tf.dispose([x, mask, xj, padded, alone, projection, broadcast]);
      layer.dispose();
    });
  }

  it('project() is H of forward() alone, with its attention; leak-free; checks its input', async () => {
    const layer = isab({ units: 8, numHeads: 2, numInducingPoints: 3, attention: 'slot', seed: 4 });
    const x = fillPadding(randomSet(6, [2, 5, 4]), prefixMask([5, 3], 5));
    const mask = prefixMask([5, 3], 5);
    const full = layer.forward(x, { mask, returnAttention: true });
    const alone = layer.project(x, { mask, returnAttention: true });
    expectClose(alone.h.dataSync(), full.h.dataSync(), { rtol: 0, atol: 0 });
    expectClose(alone.attention!.dataSync(), full.attention![0].dataSync(), { rtol: 0, atol: 0 });
    const quiet = layer.project(x, { mask });
    expect(quiet.attention).toBeNull();
    await expectNoLeak(() => {
      const { h } = layer.project(x, { mask, returnAttention: false });
      h.dispose();
    });
    expect(() => layer.project(randomSet(7, [2, 5, 3]))).toThrow(ShapeError);
    tf.dispose([x, mask, full.out, full.h, ...full.attention!, alone.h, alone.attention!, quiet.h]);
    layer.dispose();
  });

  it('gradients with respect to the set match finite differences (slot projection, masked)', () => {
    const layer = isab({ units: 4, numHeads: 2, numInducingPoints: 2, attention: 'slot', seed: 2 });
    const x = randomSet(4, [2, 3, 3]);
    const mask = prefixMask([3, 2], 3);
    const r = randomSet(5, [2, 3, 3]);
    const loss = (input: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(input, { mask }) as tf.Tensor, r)) as tf.Scalar;
    const g = tf.grad(loss)(x);
    expectClose(g.dataSync(), finiteDifferenceGradient(loss, x, 1e-2), { rtol: 2e-2, atol: 2e-3 });
    expect(Array.from(g.dataSync().slice(15)).every((v) => v === 0)).toBe(true);
    tf.dispose([x, mask, r, g]);
    layer.dispose();
  });

  it('weights: I, then mab0 (I→X), then mab1 (X→H); all trainable and trained', async () => {
    const layer = isab({ units: 8, numHeads: 2, numInducingPoints: 3, variant: 'setvae' });
    const x = randomSet(1, [2, 5, 4]);
    layer.apply(x);
    const shapes = layer.getWeights().map((w) => w.shape);
    expect(shapes.slice(0, 2)).toEqual([
      [3, 8],
      [8, 8],
    ]); // I, mab0.Wq (query = I)
    expect(shapes[2]).toEqual([4, 8]); // mab0.Wk (key = X)
    expect(shapes[13]).toEqual([4, 8]); // mab1.Wq (query = X)
    expect(shapes.length).toBe(1 + 12 + 12);
    expect(layer.trainableWeights.length).toBe(25);
    expect(new Set(layer.weights.map((w) => w.originalName)).size).toBe(25);
    const optimizer = tf.train.sgd(0.1);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.mean(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar,
          layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
        );
        expect(Object.keys(grads).length).toBe(25);
        optimizer.applyGradients(grads);
        return value;
      });
    await expectNoLeak(() => step().dispose());
    await expectNoLeak(() => tf.dispose(layer.apply(x, { returnAttention: true }) as tf.Tensor[]));
    const bad = tf.zeros([2, 5, 3]);
    await expectNoLeak(() => layer.apply(bad));
    expect(() => layer.apply(bad)).toThrow(ShapeError);
    tf.dispose([x, bad]);
    optimizer.dispose();
    layer.dispose();
  });

  it('builds on a first direct forward(), with weight names scoped by layer and sub-layer', () => {
    const a = isab({ units: 4, numHeads: 2, numInducingPoints: 2, name: 'enc_a' });
    const b = isab({ units: 4, numHeads: 2, numInducingPoints: 2, name: 'enc_b' });
    const x = randomSet(3, [2, 5, 3]);
    const ra = a.forward(x);
    const rb = b.forward(x);
    const names = [...a.weights, ...b.weights].map((w) => w.originalName);
    expect(names).toContain('enc_a/I');
    expect(names).toContain('enc_a/mab0/Wq');
    expect(names).toContain('enc_b/mab1/ln2.beta');
    expect(new Set(names).size).toBe(names.length);
    expect(ra.out.shape).toEqual([2, 5, 3]);
    tf.dispose([x, ra.out, ra.h, rb.out, rb.h]);
    const before = tf.memory().numTensors;
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * 25);
  });

  it('rejects bad options with ConfigError', () => {
    expect(() => isab({ units: 8, numHeads: 3, numInducingPoints: 2 })).toThrow(ConfigError);
    expect(() => isab({ units: 8, numHeads: 2 } as never)).toThrow(/numInducingPoints/);
    expect(isab({ units: 8, numHeads: 2, numInducingPoints: 4, seed: 1 }).getConfig()).toMatchObject({
      units: 8,
      numHeads: 2,
      numInducingPoints: 4,
      variant: 'setvae',
      layerNorm: true,
      seed: 1,
    });
  });
});
