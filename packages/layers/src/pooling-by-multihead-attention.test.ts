import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  loadFixture,
  prefixMask,
  randomSet,
  saveToMemory,
  setsOneByOne,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { pma } from './pooling-by-multihead-attention.js';
import { sab } from './set-attention-block.js';
import { expectPermutationEquivariant, expectPermutationInvariant } from './testing.js';

const fixture = loadFixture(import.meta.dirname, 'pma.json');
const flat = (a: unknown): number[] => (a as number[]).flat(Number.POSITIVE_INFINITY) as number[];

/** juho-lee MAB weights in the 'set-transformer' getWeights order. */
function mabWeights(w: Record<string, number[] | number[][]>, ln: boolean): tf.Tensor[] {
  const names = ['W_q', 'b_q', 'W_k', 'b_k', 'W_v', 'b_v', 'W_o', 'b_o'];
  if (ln) names.push('ln0_gamma', 'ln0_beta', 'ln1_gamma', 'ln1_beta');
  return names.map((n) => tf.tensor(w[n]));
}

describeBackends('PoolingByMultiheadAttention', () => {
  for (const c of fixture.cases) {
    it(`matches the set_transformer fixture ${c.name}`, () => {
      const layer = pma({
        units: c.dim,
        numHeads: c.num_heads,
        numSeeds: c.num_seeds,
        variant: 'set-transformer',
        layerNorm: c.ln,
      });
      const x = tf.tensor3d(c.X);
      layer.apply(x);
      const weights = [tf.tensor2d(c.S[0]), ...mabWeights(c.weights, c.ln)];
      layer.setWeights(weights);
      const out = layer.apply(x) as tf.Tensor;
      expect(out.shape).toEqual([c.X.length, c.num_seeds, c.dim]);
      expectClose(out.dataSync(), flat(c.output), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([x, out, ...weights]);
      layer.dispose();
    });
  }

  for (const variant of ['setvae', 'set-transformer'] as const) {
    it(`${variant}: permutation-invariant, padding never changes a result`, () => {
      const layer = pma({ units: 8, numHeads: 4, numSeeds: 2, variant, seed: 3 });
      expectPermutationInvariant(layer, { inputShape: [2, 7, 3], seed: 4 });
      const x = randomSet(2, [3, 7, 3]);
      const sizes = [7, 1, 4];
      const mask = prefixMask(sizes, 7);
      const xj = fillPadding(x, mask, -37.5);
      expectPermutationInvariant(layer, { input: xj, mask, seed: 5 });
      const padded = layer.apply(xj, { mask }) as tf.Tensor;
      expect(padded.shape).toEqual([3, 2, 8]);
      const alone = setsOneByOne(x, sizes, (set) => layer.apply(set) as tf.Tensor);
      expectClose(padded.dataSync(), alone.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([x, mask, xj, padded, alone]);
      layer.dispose();
    });
  }

  it('SAB → PMA in a LayersModel saves and loads through tf.io with equal outputs', async () => {
    const input = tfl.input({ shape: [null, 3] });
    const encoded = sab({ units: 8, numHeads: 2, variant: 'set-transformer', layerNorm: true }).apply(input);
    const pooled = pma({ units: 8, numHeads: 2, numSeeds: 2, attention: 'slot' }).apply(
      encoded,
    ) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: pooled });
    expect(pooled.shape).toEqual([null, 2, 8]);
    // train one step so the weights differ from any initialisation
    const x = randomSet(8, [2, 5, 3]);
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const y = tf.ones([2, 2, 8]);
    await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    const saved = await saveToMemory(model);
    const names = (saved.weightSpecs ?? []).map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBe(8 + 4 + 1 + 12); // SAB (+LN), PMA: S + setvae MAB (+LN)
    const loaded = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: saved.modelTopology,
        weightSpecs: saved.weightSpecs,
        weightData: saved.weightData,
      }),
    );
    const other = randomSet(9, [3, 6, 3]); // another set size: the input is [null, 3]
    const a = model.predict(other) as tf.Tensor;
    const b = loaded.predict(other) as tf.Tensor;
    expectClose(b.dataSync(), a.dataSync(), { rtol: 1e-6, atol: 1e-7 });
    tf.dispose([x, y, other, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('leaks nothing; bad inputs and options throw typed errors', async () => {
    const layer = pma({ units: 4, numHeads: 2, numSeeds: 1 });
    const x = randomSet(1, [2, 4, 3]);
    const mask = prefixMask([4, 2], 4);
    layer.apply(x);
    await expectNoLeak(() => tf.dispose(layer.apply(x, { mask, returnAttention: true }) as tf.Tensor[]));
    const wrongMask = tf.ones([2, 5]);
    await expectNoLeak(() => layer.apply(x, { mask: wrongMask }));
    expect(() => layer.apply(x, { mask: wrongMask })).toThrow(ShapeError);
    expect(() => layer.apply(x, { mask: wrongMask })).toThrow(/\[2,4\]/);
    expect(() => pma({ units: 4, numHeads: 2, numSeeds: 0 })).toThrow(ConfigError);
    expect(() => pma({ units: 5, numHeads: 2, numSeeds: 1 })).toThrow(ConfigError);
    tf.dispose([x, mask, wrongMask]);
    layer.dispose();
  });
});

describeBackends('SetAttentionBlock', () => {
  it('is MAB(X, X): equivariant, masked, with MAB weights', () => {
    const layer = sab({ units: 6, numHeads: 3, seed: 1 });
    expectPermutationEquivariant(layer, { inputShape: [2, 5, 4] });
    const x = randomSet(3, [2, 5, 4]);
    const sizes = [5, 3];
    const mask = prefixMask(sizes, 5);
    const padded = layer.apply(fillPadding(x, mask), { mask }) as tf.Tensor;
    const alone = setsOneByOne(x, sizes, (set) => layer.apply(set) as tf.Tensor, 5);
    expectClose(padded.dataSync(), alone.dataSync(), { rtol: 1e-4, atol: 1e-5 });
    expect(
      layer
        .getWeights()
        .map((w) => w.shape)
        .slice(0, 4),
    ).toEqual([
      [4, 6],
      [4, 6],
      [4, 6],
      [6, 4],
    ]);
    expect(layer.computeOutputShape([null, 5, 4])).toEqual([null, 5, 4]);
    expect(() => layer.apply([x, x])).toThrow(ShapeError);
    tf.dispose([x, mask, padded, alone]);
    layer.dispose();
  });
});
