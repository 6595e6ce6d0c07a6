import { ConfigError, DataError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  prefixMask,
  randomTensor,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { expectIdenticalAfterRoundTrip } from './__fixtures__/round-trip.js';
import { DSPN } from './dspn.js';
import type { DSPNConfig } from './dspn-config.js';

/** A tiny DSPN: every test runs it in milliseconds. */
const tiny: DSPNConfig = {
  setDim: 2,
  maxSize: 5,
  hiddenUnits: 6,
  latentDim: 4,
  numPieces: 3,
  iterations: 3,
  innerLearningRate: 20,
  seed: 3,
};

/** Points in [0, 1]² of the given sizes, prefix-padded to `n` with junk (`pad`). */
function sets(sizes: number[], n: number, seed: number, pad = 0): { x: tf.Tensor3D; mask: tf.Tensor2D } {
  return tf.tidy(() => {
    const mask = prefixMask(sizes, n);
    const raw = tf.add(tf.mul(randomTensor(seed, [sizes.length, n, 2]), 0.5), 0.5);
    const x = tf.where(tf.cast(tf.expandDims(mask, 2), 'bool'), raw, tf.fill(raw.shape, pad)) as tf.Tensor3D;
    return { x, mask };
  });
}

function lossValue(model: DSPN, batch: { x: tf.Tensor3D; mask: tf.Tensor2D }, key = 'total'): number {
  const terms = model.loss(batch, { seed: 1 });
  const v = terms[key].dataSync()[0];
  tf.dispose(Object.values(terms));
  return v;
}

/**
 * One training loss and its gradients for a 4-step DSPN of width 16 with `config`, and the
 * bytes the tape holds at the end of the forward pass.
 */
function lossAndGradients(config: Partial<DSPNConfig>, batch: { x: tf.Tensor3D; mask: tf.Tensor2D }) {
  const model = new DSPN({ ...tiny, hiddenUnits: 16, iterations: 4, ...config });
  const before = tf.memory().numBytes;
  let kept = 0;
  const { value, grads } = tf.variableGrads(() => {
    const total = model.loss(batch).total;
    kept = tf.memory().numBytes - before;
    return total;
  }, model.trainableVariables);
  const out = { loss: value.dataSync()[0], grads: Object.values(grads).map((g) => g.dataSync()), kept };
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

describeBackends('DSPN', () => {
  it('the prediction is permutation-equivariant in the initial set (Ŷ⁰, m̂⁰)', () => {
    const model = new DSPN({ ...tiny, creation: 'first-n' });
    const batch = sets([5, 3], 5, 1);
    const z = model.encode(batch.x, batch.mask);
    const points = model.creation!.weights[0].read();
    const mask = model.startingMask!;
    tf.tidy(() => mask.assign(tf.tensor1d([0.1, 0.9, 0.5, 0.3, 0.7])));
    const before = model.predict(z);
    const perm = [3, 0, 4, 1, 2];
    const [p0, m0] = [points.clone(), mask.clone()];
    tf.tidy(() => {
      model.creation!.weights[0].write(tf.gather(p0, perm));
      mask.assign(tf.gather(m0, perm));
    });
    const after = model.predict(z);
    const last = before.sets.length - 1;
    expect(last).toBe(3);
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(before.sets[last], before.sets[0]))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-4); // the loop does move the set
    expectClose(
      after.sets[last].dataSync(),
      tf.tidy(() => tf.gather(before.sets[last], perm, 1)).dataSync(),
      {
        rtol: 1e-4,
        atol: 1e-6,
      },
    );
    expectClose(
      after.masks[last].dataSync(),
      tf.tidy(() => tf.gather(before.masks[last], perm, 1)).dataSync(),
      {
        rtol: 1e-4,
        atol: 1e-6,
      },
    );
    tf.dispose([
      batch.x,
      batch.mask,
      z,
      p0,
      m0,
      ...before.sets,
      ...before.masks,
      ...after.sets,
      ...after.masks,
    ]);
    model.dispose();
  });

  it('padding never changes a result: more columns, NaN in padding, another mask layout, shuffled elements', () => {
    const model = new DSPN({ ...tiny, creation: 'top-n' });
    const plain = sets([4, 2], 4, 2, Number.NaN);
    const nan = {
      x: tf.concat([plain.x, tf.fill([2, 3, 2], Number.NaN)], 1) as tf.Tensor3D,
      mask: tf.concat([plain.mask, tf.zeros([2, 3])], 1) as tf.Tensor2D,
    };
    // the same elements at other positions: reverse each set's rows and the mask with them
    const reversed = {
      x: tf.reverse(nan.x, 1) as tf.Tensor3D,
      mask: tf.reverse(nan.mask, 1) as tf.Tensor2D,
    };
    const a = lossValue(model, plain);
    expectClose(lossValue(model, nan), a, { rtol: 1e-5, atol: 1e-7 });
    expectClose(lossValue(model, reversed), a, { rtol: 1e-4, atol: 1e-6 });
    expect(Number.isFinite(a)).toBe(true);
    tf.dispose([plain.x, plain.mask, nan.x, nan.mask, reversed.x, reversed.mask]);
    model.dispose();
  });

  it('gradients through the unrolled second-order loop match finite differences (encoder kernel, m̂⁰, Ŷ⁰)', () => {
    const model = new DSPN({
      ...tiny,
      maxSize: 3,
      hiddenUnits: 4,
      latentDim: 2,
      numPieces: 2,
      iterations: 2,
      batchSize: 2, // the batch below is a full one: inner steps as large as the reference's
      seed: 11,
    });
    const batch = sets([3, 2], 3, 4);
    tf.tidy(() => model.startingMask!.assign(tf.tensor1d([0.3, 0.6, 0.8])));
    const loss = () => model.loss(batch, { seed: 1 }).total;
    const targets = [
      model.encoder.weights[0].read() as tf.Variable,
      model.startingMask!,
      model.creation!.weights[0].read() as tf.Variable,
    ];
    const { value, grads } = tf.variableGrads(loss, targets);
    for (const v of targets) {
      const saved = v.clone();
      const expected = finiteDifferenceGradient(
        (t) => {
          v.assign(t);
          return loss();
        },
        saved,
        5e-4, // small: the sorts, ReLUs and nearest neighbours make the loss piecewise smooth
      );
      v.assign(saved);
      expectClose(grads[v.name].dataSync(), expected, { rtol: 3e-2, atol: 1e-4 });
      expect(Math.max(...Array.from(expected, Math.abs)), v.name).toBeGreaterThan(1e-3);
      saved.dispose();
    }
    tf.dispose([batch.x, batch.mask, value, ...Object.values(grads)]);
    model.dispose();
  });

  it('no tensor growth over 50 Adam steps; the loss goes down', () => {
    const model = new DSPN({ ...tiny, maxSize: 4, iterations: 2 });
    const batch = sets([4, 3], 4, 5);
    const optimizer = tf.train.adam(1e-2);
    const step = () => {
      const cost = optimizer.minimize(() => model.loss(batch).total, true, model.trainableVariables);
      const v = cost!.dataSync()[0];
      cost!.dispose();
      return v;
    };
    const first = step();
    const count = tf.memory().numTensors;
    let last = first;
    for (let i = 1; i < 50; i++) last = step();
    expect(tf.memory().numTensors).toBe(count);
    expect(last).toBeLessThan(first);
    optimizer.dispose();
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('a model rebuilt from getConfig() with the same weights predicts identically; predict may run longer', () => {
    const model = new DSPN({ ...tiny, creation: 'mlp' });
    const again = new DSPN(model.getConfig() as unknown as DSPNConfig);
    const mine = model.namedWeights();
    const theirs = again.namedWeights();
    expect(theirs.map((w) => w.name)).toEqual(mine.map((w) => w.name));
    theirs.forEach((w, i) => {
      w.variable.assign(mine[i].variable);
    });
    const batch = sets([4, 5], 5, 6);
    const a = model.reconstruct(batch.x, batch.mask, { iterations: 6 });
    const b = again.reconstruct(batch.x, batch.mask, { iterations: 6 });
    expect(a.sets.length).toBe(7);
    expectClose(b.sets[6].dataSync(), a.sets[6].dataSync(), { rtol: 0, atol: 0 });
    expectClose(b.masks[6].dataSync(), a.masks[6].dataSync(), { rtol: 0, atol: 0 });
    tf.dispose([batch.x, batch.mask, ...a.sets, ...a.masks, ...b.sets, ...b.masks]);
    model.dispose();
    again.dispose();
  });

  for (const decoder of ['mlp', 'lstm'] as const) {
    it(`the ${decoder} baseline decodes N slots and trains every weight`, () => {
      const model = new DSPN({ ...tiny, decoder });
      const batch = sets([5, 2], 5, 7);
      const out = model.reconstruct(batch.x, batch.mask);
      expect(out.sets.map((s) => s.shape)).toEqual([[2, 5, 2]]);
      expect(out.masks[0].shape).toEqual([2, 5]);
      const { value, grads } = tf.variableGrads(() => model.loss(batch).total, model.trainableVariables);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads).length).toBe(model.trainableVariables.length);
      tf.dispose([batch.x, batch.mask, value, ...Object.values(grads), ...out.sets, ...out.masks]);
      model.dispose();
    });
  }

  it('supervised mode: z is the condition, plus λ·smooth-L1(g(Y), z)', () => {
    const model = new DSPN({ ...tiny, mode: 'supervised', reprWeight: 0.5 });
    const batch = sets([5, 3], 5, 8);
    const condition = randomTensor(9, [2, 4]) as tf.Tensor2D;
    const terms = model.loss({ x: batch.x, target: batch.x, targetMask: batch.mask, condition });
    expectClose(terms.total.dataSync()[0], terms.chamfer.dataSync()[0] + 0.5 * terms.repr.dataSync()[0], {
      rtol: 1e-5,
    });
    tf.dispose([batch.x, batch.mask, condition, ...Object.values(terms)]);
    model.dispose();
  });

  it('save → load (runtime) → identical predictions, after training steps', async () => {
    const model = new DSPN({ ...tiny, creation: 'top-n' });
    const batch = sets([4, 5], 5, 9);
    await expectIdenticalAfterRoundTrip(model, batch, (m) => {
      const out = m.reconstruct(batch.x, batch.mask);
      return [...out.sets, ...out.masks];
    });
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('recomputeInnerSteps: the same loss and gradients as the full tape, which keeps far less', () => {
    const batch = sets([5, 3, 4], 5, 12);
    const run = (recomputeInnerSteps: boolean) => lossAndGradients({ recomputeInnerSteps }, batch);
    const full = run(false);
    const count = tf.memory().numTensors;
    const light = run(true);
    expect(tf.memory().numTensors).toBe(count);
    expect(light.loss).toBe(full.loss);
    expect(light.grads.length).toBe(full.grads.length);
    light.grads.forEach((g, i) => {
      expectClose(g, full.grads[i], { rtol: 1e-4, atol: 1e-7 });
    });
    expect(full.grads.some((g) => g.some((v) => v !== 0))).toBe(true);
    expect(light.kept).toBeLessThan(full.kept / 2);
    tf.dispose([batch.x, batch.mask]);
  });

  it("innerGradient 'explicit' (default): the loss and gradients of the nested tf.grads ('autodiff'), keeping less", () => {
    const batch = sets([5, 3, 4], 5, 14);
    const run = (config: Partial<DSPNConfig>) => lossAndGradients(config, batch);
    expect(new DSPN(tiny).config.innerGradient).toBe('explicit');
    const nested = run({ innerGradient: 'autodiff' });
    const count = tf.memory().numTensors;
    for (const recomputeInnerSteps of [false, true]) {
      const explicit = run({ recomputeInnerSteps });
      expect(tf.memory().numTensors).toBe(count);
      expectClose([explicit.loss], [nested.loss], { rtol: 1e-6, atol: 0 });
      expect(explicit.grads.length).toBe(nested.grads.length);
      explicit.grads.forEach((g, i) => {
        expectClose(g, nested.grads[i], { rtol: 1e-4, atol: 1e-7 });
      });
      // the tape of the explicit inner gradient keeps 96,316 bytes here, the nested tf.grads'
      // 127,708 (153,964 until dense layers read their rows in place: the nested tape kept the
      // reshapes' copies), so the margin is a fifth, and the explicit path's own size is pinned
      if (!recomputeInnerSteps) {
        expect(explicit.kept).toBeLessThan(nested.kept * 0.8);
        expect(explicit.kept).toBeLessThanOrEqual(100_000);
      }
    }
    expect(nested.grads.some((g) => g.some((v) => v !== 0))).toBe(true);
    expect(() => new DSPN({ ...tiny, relational: true, innerGradient: 'explicit' })).toThrow(
      /config.innerGradient/,
    );
    expect(new DSPN({ ...tiny, relational: true }).config.innerGradient).toBe('autodiff');
    tf.dispose([batch.x, batch.mask]);
  });

  it("innerLossReduction: 'fixed-batch' decodes a set the same in any batch, as 'batch-mean' does at B = batchSize", () => {
    const batch = sets([5, 3, 4], 5, 13);
    const one = { x: tf.slice(batch.x, [0, 0, 0], [1, 5, 2]), mask: tf.slice(batch.mask, [0, 0], [1, 5]) };
    const decode = (innerLossReduction: 'fixed-batch' | 'batch-mean', b: typeof batch) => {
      const model = new DSPN({ ...tiny, batchSize: 3, innerLearningRate: 60, innerLossReduction });
      const p = model.reconstruct(b.x, b.mask);
      const last = tf.slice(p.sets[p.sets.length - 1], [0, 0, 0], [1, 5, 2]);
      const values = last.dataSync();
      tf.dispose([...p.sets, ...p.masks, last]);
      model.dispose();
      return values;
    };
    const fixedAlone = decode('fixed-batch', one);
    expectClose(fixedAlone, decode('fixed-batch', batch), { rtol: 1e-5, atol: 1e-6 });
    // the reference's mean: the same at B = batchSize, a 3× larger step for the set alone
    expectClose(decode('batch-mean', batch), decode('fixed-batch', batch), { rtol: 1e-5, atol: 1e-6 });
    const meanAlone = decode('batch-mean', one);
    expect(Math.max(...fixedAlone.map((v, i) => Math.abs(v - meanAlone[i])))).toBeGreaterThan(1e-3);
    tf.dispose([batch.x, batch.mask, one.x, one.mask]);
  });

  it('batching: drops the last partial batch by default (reference drop_last=True); configurable', () => {
    expect(new DSPN(tiny).config.dropLast).toBe(true);
    expect(DSPN.resolveConfig({ ...tiny, dropLast: false }).dropLast).toBe(false);
    expect(() => DSPN.resolveConfig({ ...tiny, dropLast: 'yes' as never })).toThrow(/config.dropLast/);
  });

  it('bad configs and inputs are typed errors, thrown before any tensor work', async () => {
    expect(() => new DSPN({ ...tiny, creation: 'topn' as never })).toThrow(ConfigError);
    expect(() => new DSPN({ ...tiny, iterations: 0 })).toThrow(/iterations/);
    expect(() => new DSPN({ ...tiny, referenceSize: 2 })).toThrow(/referenceSize/);
    expect(() => new DSPN({ ...tiny, lr: 1 } as never)).toThrow(/config.lr: unknown/);
    expect(() => new DSPN({ ...tiny, setDim: 0 })).toThrow(ConfigError);
    const model = new DSPN(tiny);
    const wide = sets([6], 6, 1);
    const bad = { x: tf.zeros([1, 3, 3]) as tf.Tensor3D };
    const z = tf.zeros([2, 3]) as tf.Tensor2D;
    await expectNoLeak(() => expect(() => model.loss(wide)).toThrow(DataError));
    await expectNoLeak(() => expect(() => model.loss(bad)).toThrow(ShapeError));
    await expectNoLeak(() => expect(() => model.predict(z)).toThrow(/z: expected a Tensor2D \[B, 4\]/));
    const good = tf.zeros([2, 4]) as tf.Tensor2D;
    await expectNoLeak(() => expect(() => model.predict(good, { iterations: -1 })).toThrow(ConfigError));
    const supervised = new DSPN({ ...tiny, mode: 'supervised' });
    await expectNoLeak(() => expect(() => supervised.loss(wide)).toThrow(/batch.target/));
    tf.dispose([wide.x, wide.mask, bad.x, z, good]);
    model.dispose();
    supervised.dispose();
  });
});
