import { ConfigError, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, prefixMask, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { expectIdenticalAfterRoundTrip } from './__fixtures__/round-trip.js';
import { TSPN } from './tspn.js';
import type { TSPNConfig } from './tspn-config.js';

/** A tiny TSPN: every test runs it in milliseconds. */
const tiny: TSPNConfig = {
  setDim: 2,
  maxSize: 6,
  initialSetDim: 3,
  encoderHiddenUnits: 8,
  latentDim: 4,
  numPieces: 3,
  modelDim: 8,
  numHeads: 2,
  numBlocks: 2,
  sizeHiddenUnits: 5,
  seed: 2,
};

function sets(sizes: number[], n: number, seed: number): { x: tf.Tensor3D; mask: tf.Tensor2D } {
  return tf.tidy(() => {
    const mask = prefixMask(sizes, n);
    const raw = tf.add(tf.mul(randomTensor(seed, [sizes.length, n, 2]), 0.5), 0.5);
    const x = tf.where(
      tf.cast(tf.expandDims(mask, 2), 'bool'),
      raw,
      tf.fill(raw.shape, Number.NaN),
    ) as tf.Tensor3D;
    return { x, mask };
  });
}

function terms(model: TSPN, batch: { x: tf.Tensor3D; mask?: tf.Tensor2D }): Record<string, number> {
  const t = model.loss(batch, { seed: 5 });
  const out = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.dataSync()[0]]));
  tf.dispose(Object.values(t));
  return out;
}

describeBackends('TSPN', () => {
  for (const creation of ['iid', 'first-n', 'top-n', 'mlp'] as const) {
    it(`${creation}: padding never changes the loss (more columns, NaN, another layout)`, () => {
      const model = new TSPN({ ...tiny, creation });
      const plain = sets([4, 2], 4, 1);
      const wide = {
        x: tf.concat([plain.x, tf.fill([2, 3, 2], Number.NaN)], 1) as tf.Tensor3D,
        mask: tf.concat([plain.mask, tf.zeros([2, 3])], 1) as tf.Tensor2D,
      };
      const reversed = {
        x: tf.reverse(wide.x, 1) as tf.Tensor3D,
        mask: tf.reverse(wide.mask, 1) as tf.Tensor2D,
      };
      const a = terms(model, plain);
      expect(Number.isFinite(a.total)).toBe(true);
      expectClose(terms(model, wide).total, a.total, { rtol: 1e-5, atol: 1e-7 });
      // the encoder is invariant to the element order; the decoder sees the same X⁰
      expectClose(terms(model, reversed).total, a.total, { rtol: 1e-4, atol: 1e-6 });
      tf.dispose([plain.x, plain.mask, wide.x, wide.mask, reversed.x, reversed.mask]);
      model.dispose();
    });
  }

  it('the output is permutation-equivariant in the initial set (First-n points permuted)', () => {
    const model = new TSPN({ ...tiny, creation: 'first-n' });
    const batch = sets([6, 6], 6, 3);
    const z = model.encode(batch.x, batch.mask);
    const points = model.creation.weights[0];
    const before = model.predict(z, { sizes: [6, 6] });
    const saved = points.read().clone();
    const perm = [2, 5, 0, 1, 4, 3];
    tf.tidy(() => {
      points.write(tf.gather(saved, perm));
    });
    const after = model.predict(z, { sizes: [6, 6] });
    expectClose(after.x.dataSync(), tf.tidy(() => tf.gather(before.x, perm, 1)).dataSync(), {
      rtol: 1e-4,
      atol: 1e-5,
    });
    tf.dispose([batch.x, batch.mask, z, saved, before.x, before.mask, after.x, after.mask]);
    model.dispose();
  });

  it('the size term trains only the size head; Chamfer never reaches it', () => {
    const model = new TSPN(tiny);
    const batch = sets([5, 2], 6, 4);
    const named = model.namedWeights();
    const grad = (term: 'size' | 'chamfer') =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => model.loss(batch, { seed: 1 })[term],
          model.trainableVariables,
        );
        return named.map((w) => tf.max(tf.abs(grads[w.variable.name] ?? tf.zeros([1]))).dataSync()[0]);
      });
    const size = grad('size');
    const chamfer = grad('chamfer');
    named.forEach((w, i) => {
      if (w.name.startsWith('size')) {
        expect(size[i], w.name).toBeGreaterThan(0);
        expect(chamfer[i], w.name).toBe(0);
      } else {
        expect(size[i], w.name).toBe(0);
      }
    });
    expect(Math.max(...chamfer)).toBeGreaterThan(0);
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('no tensor growth over 50 Adam steps; the loss goes down', () => {
    const model = new TSPN({ ...tiny, creation: 'top-n' });
    const batch = sets([6, 3, 4], 6, 5);
    const optimizer = tf.train.adam(3e-3);
    const step = (i: number) => {
      const cost = optimizer.minimize(
        () => model.loss(batch, { seed: i }).total,
        true,
        model.trainableVariables,
      );
      const v = cost!.dataSync()[0];
      cost!.dispose();
      return v;
    };
    const first = step(0);
    const count = tf.memory().numTensors;
    let last = first;
    for (let i = 1; i < 50; i++) last = step(i);
    expect(tf.memory().numTensors).toBe(count);
    expect(last).toBeLessThan(first);
    optimizer.dispose();
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('a model rebuilt from getConfig() with the same weights predicts identically; sizes are predicted', () => {
    const model = new TSPN({ ...tiny, creation: 'iid', block: 'isab', numInducingPoints: 3 });
    const again = new TSPN(model.getConfig() as unknown as TSPNConfig);
    const mine = model.namedWeights();
    again.namedWeights().forEach((w, i) => {
      expect(w.name).toBe(mine[i].name);
      w.variable.assign(mine[i].variable);
    });
    const batch = sets([4, 6], 6, 6);
    const a = model.reconstruct(batch.x, batch.mask, { seed: 3 });
    const b = again.reconstruct(batch.x, batch.mask, { seed: 3 });
    expectClose(b.x.dataSync(), a.x.dataSync(), { rtol: 0, atol: 0 });
    expect(a.mask.arraySync()).toEqual(prefixMask([4, 6], 6).arraySync() as number[][]);
    const z = model.encode(batch.x, batch.mask);
    const sizes = model.predictSizes(z);
    expect(sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= 6)).toBe(true);
    const predicted = model.predict(z, { seed: 1 });
    expect(predicted.x.shape).toEqual([2, Math.max(...sizes), 2]);
    tf.dispose([batch.x, batch.mask, a.x, a.mask, b.x, b.mask, z, predicted.x, predicted.mask]);
    model.dispose();
    again.dispose();
  });

  it('save → load (runtime) → identical predictions, after training steps', async () => {
    const model = new TSPN({ ...tiny, creation: 'top-n' });
    const batch = sets([4, 6], 6, 9);
    await expectIdenticalAfterRoundTrip(model, batch, (m) => {
      const out = m.reconstruct(batch.x, batch.mask, { seed: 4 });
      return [out.x, out.mask as tf.Tensor];
    });
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('batching: keeps the last partial batch by default (the reference), dropLast is configurable', () => {
    expect(TSPN.resolveConfig(tiny).dropLast).toBe(false);
    expect(TSPN.resolveConfig({ ...tiny, dropLast: true }).dropLast).toBe(true);
    expect(() => TSPN.resolveConfig({ ...tiny, dropLast: 1 as never })).toThrow(/config.dropLast/);
  });

  it('bad configs and inputs are typed errors, thrown before any tensor work', async () => {
    expect(() => new TSPN({ ...tiny, modelDim: 7 })).toThrow(/modelDim/);
    expect(() => new TSPN({ ...tiny, block: 'transformer' as never })).toThrow(ConfigError);
    expect(() => new TSPN({ ...tiny, creation: 'random' as never })).toThrow(/creation/);
    expect(() => new TSPN({ ...tiny, heads: 2 } as never)).toThrow(/unknown/);
    const model = new TSPN(tiny);
    const big = sets([7], 7, 1);
    const empty = { x: tf.zeros([1, 3, 2]) as tf.Tensor3D, mask: tf.zeros([1, 3]) as tf.Tensor2D };
    const wrong = tf.zeros([1, 3, 3]) as tf.Tensor3D;
    const z = tf.zeros([1, 4]) as tf.Tensor2D;
    await expectNoLeak(() => expect(() => model.loss(big)).toThrow(/maxSize = 6/));
    await expectNoLeak(() => expect(() => model.loss(empty)).toThrow(ShapeError));
    await expectNoLeak(() => expect(() => model.loss({ x: wrong })).toThrow(ShapeError));
    await expectNoLeak(() => expect(() => model.predict(z, { sizes: [9] })).toThrow(ConfigError));
    await expectNoLeak(() => expect(() => model.predict(z, { sizes: [1, 2] })).toThrow(ShapeError));
    tf.dispose([big.x, big.mask, empty.x, empty.mask, wrong, z]);
    model.dispose();
  });
});
