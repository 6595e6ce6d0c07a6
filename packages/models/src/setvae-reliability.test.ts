// SetVAE as a hostile user meets it: NaN and 1e30 in padding, typos in configs and options,
// a NaN β, empty sets, NaN data, divergence, non-finite weights at save time, and every
// failed call leaving the tensor count unchanged.
import { ConfigError, DataError } from '@setgen/ops';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { padded, ringSets } from './__fixtures__/ring-sets.js';
import { tinySetVAE as tiny } from './__fixtures__/tiny-setvae.js';
import { DivergenceError, NonFiniteBatchError, SetVAE, saveModel } from './index.js';

const values = (out: { x: tf.Tensor }) => Array.from(out.x.dataSync());

describeBackends('SetVAE reliability', () => {
  it('padding never changes a result: NaN or 1e30 there (trailing or in the middle) = zeros there', () => {
    const sets = ringSets([5, 8, 3], 4);
    // a middle-padded layout: set 0 has its elements at columns 0, 2, 4, 5, 7
    const holes = (junk: number) => {
      const base = padded(sets, { maxSize: 9, junk });
      const x = base.x.arraySync();
      const mask = base.mask.arraySync();
      const cols = [0, 2, 4, 5, 7];
      const row = Array.from({ length: 9 }, () => [junk, junk]);
      cols.forEach((c, i) => {
        row[c] = x[0][i];
      });
      x[0] = row;
      mask[0] = Array.from({ length: 9 }, (_, c) => (cols.includes(c) ? 1 : 0));
      tf.dispose([base.x, base.mask]);
      return { x: tf.tensor3d(x), mask: tf.tensor2d(mask) };
    };
    for (const layout of [(junk: number) => padded(sets, { maxSize: 11, junk }), holes]) {
      const clean = layout(0);
      const reference = new SetVAE(tiny);
      const cleanOut = reference.reconstruct(clean, { seed: 3 });
      const cleanLoss = reference.loss(clean, { seed: 3 }).total.dataSync()[0];
      const cleanStep = reference.trainStep(clean).losses;
      for (const junk of [Number.NaN, 1e30, Number.POSITIVE_INFINITY]) {
        const dirty = layout(junk);
        const model = new SetVAE(tiny);
        const out = model.reconstruct(dirty, { seed: 3 });
        expect(values(out)).toEqual(values(cleanOut));
        expect(model.loss(dirty, { seed: 3 }).total.dataSync()[0]).toBe(cleanLoss);
        expect(model.trainStep(dirty).losses).toEqual(cleanStep);
        tf.dispose([dirty.x, dirty.mask, out as unknown as tf.TensorContainer]);
        model.dispose();
      }
      tf.dispose([clean.x, clean.mask, cleanOut as unknown as tf.TensorContainer]);
      reference.dispose();
    }
  });

  it('masks: mask > 0.5 is an element, as everywhere in @setgen (0.7 acts as 1; 0.3, 0.5 and NaN as 0)', () => {
    const sets = ringSets([5, 3, 4], 4);
    const hard = padded(sets, { maxSize: 6, junk: 0 });
    const m = hard.mask.arraySync();
    const softValues = [0.7, 2, 0.51];
    const paddingValues = [0.3, 0.5, Number.NaN, -1];
    const soft = tf.tensor2d(
      m.map((row, i) => row.map((v, j) => (v === 1 ? softValues[(i + j) % 3] : paddingValues[(i + j) % 4]))),
    );
    const reference = new SetVAE(tiny);
    const model = new SetVAE(tiny);
    const read = (f: () => { x: tf.Tensor; mask: tf.Tensor }, g: () => tf.Scalar) =>
      tf.tidy(() => {
        const out = f();
        return [values(out), Array.from(out.mask.dataSync()), g().dataSync()[0]];
      });
    const want = read(
      () => reference.reconstruct(hard, { seed: 5 }),
      () => reference.loss(hard, { seed: 5 }).total,
    );
    const before = tf.memory().numTensors;
    const got = read(
      () => model.reconstruct({ x: hard.x, mask: soft }, { seed: 5 }),
      () => model.loss({ x: hard.x, mask: soft }, { seed: 5 }).total,
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toEqual(want);
    expect(Number.isFinite(want[2] as number)).toBe(true);
    expect(model.trainStep({ x: hard.x, mask: soft }).losses).toEqual(reference.trainStep(hard).losses);
    tf.dispose([hard.x, hard.mask, soft]);
    reference.dispose();
    model.dispose();
  });

  it('NaN in the padding of a given initial set changes neither the loss nor its gradient', () => {
    const model = new SetVAE(tiny);
    const batch = padded(ringSets([3, 2], 5));
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 1, 0, 0],
    ]);
    const base = tf.randomNormal([2, 4, tiny.initialSetDim as number], 0, 1, 'float32', 3) as tf.Tensor3D;
    const withJunk = (junk: number) =>
      tf.where(tf.greater(tf.expandDims(mask, 2), 0.5), base, tf.fill(base.shape, junk)) as tf.Tensor3D;
    const lossAndGrads = (x: tf.Tensor3D) => {
      const { value, grads } = tf.variableGrads(
        () => model.loss(batch, { seed: 2, initialSet: { x, mask } }).total,
        model.trainableVariables,
      );
      const out = [value, ...Object.values(grads)].flatMap((t) => Array.from(t.dataSync()));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const clean = withJunk(0);
    const want = lossAndGrads(clean);
    expect(want.every(Number.isFinite)).toBe(true);
    for (const junk of [Number.NaN, 1e30, Number.NEGATIVE_INFINITY]) {
      const dirty = withJunk(junk);
      expect(lossAndGrads(dirty)).toEqual(want);
      dirty.dispose();
    }
    tf.dispose([batch.x, batch.mask, mask, base, clean]);
    model.dispose();
  });

  it('configs and options: unknown keys and wrong types are ConfigErrors, before any tensor work', async () => {
    await expectNoLeak(() =>
      expect(() => new SetVAE({ ...tiny, learningrate: 1 } as never)).toThrow(ConfigError),
    );
    expect(() => new SetVAE({ ...tiny, learningrate: 1 } as never)).toThrow(
      /config.learningrate: unknown key/,
    );
    expect(() => new SetVAE({ ...tiny, learningRate: '1e-3' } as never)).toThrow(/config.learningRate/);
    expect(() => new SetVAE({ ...tiny, trainMixture: 'false' } as never)).toThrow(
      /config.trainMixture: expected a boolean/,
    );
    const model = new SetVAE(tiny);
    const batch = padded(ringSets([5, 4], 1));
    const wrongLatents = tf.zeros([1, 3, 4]) as tf.Tensor3D;
    await expectNoLeak(() => {
      expect(() => model.loss(batch, { beta: Number.NaN })).toThrow(
        /options.beta: expected a finite number >= 0, got NaN/,
      );
      expect(() => model.loss(batch, { beta: '0.1' } as never)).toThrow(ConfigError);
      expect(() => model.reconstruct(batch, { sed: 1 } as never)).toThrow(/options.sed: unknown option/);
      expect(() => model.reconstruct(batch, { temperature: -1 })).toThrow(/options.temperature/);
      expect(() => model.sample([3], { temperature: Number.NaN })).toThrow(/options.temperature/);
      expect(() => model.sample([3], { seeds: 1 } as never)).toThrow(/options.seeds: unknown option/);
      expect(() => model.sample([3], { latents: [wrongLatents] })).toThrow(
        /options.latents\[0\]: expected \[1,2,4\]/,
      );
    });
    tf.dispose([batch.x, batch.mask, wrongLatents]);
    model.dispose();
  });

  it('bad data names the data: an empty set, NaN at a valid element (not "a: expected finite values")', async () => {
    const model = new SetVAE(tiny);
    const batch = padded(ringSets([5, 4], 1));
    const empty = {
      x: batch.x,
      mask: tf.tensor2d([
        [1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0],
      ]),
    };
    const noElements = tf.zeros([2, 0, 2]) as tf.Tensor3D;
    const initial = tf.zeros([2, 3, tiny.initialSetDim as number]) as tf.Tensor3D;
    const noInitial = tf.zeros([2, 0, tiny.initialSetDim as number]) as tf.Tensor3D;
    const emptyInitialMask = tf.tensor2d([
      [1, 1, 0],
      [0, 0, 0],
    ]);
    const nan = tf.tensor3d([0.1, 0.2, Number.NaN, 0.3, 0.5, 0.5], [1, 3, 2]);
    await expectNoLeak(() => {
      // what the caller passed (batch, batch.mask, initialSet.mask), never an internal `sizes[i]`
      for (const call of [
        () => model.loss(empty),
        () => model.reconstruct(empty),
        () => model.encode(empty),
      ]) {
        expect(call).toThrow(/^batch.mask: set 1 has no valid element; expected (1 to 64|at least one)/);
      }
      expect(() => model.trainStep(empty)).toThrow(DataError);
      expect(() => model.reconstruct(noElements)).toThrow(
        /^batch: expected at least one set of at least one element \(x \[B≥1,N≥1,2\]\), got \[2,0,2\]/,
      );
      expect(() => model.decodeInitialSet({ x: initial, mask: emptyInitialMask })).toThrow(
        /^initialSet.mask: set 1 has no valid element/,
      );
      expect(() => model.reconstruct(batch, { initialSet: { x: initial, mask: emptyInitialMask } })).toThrow(
        /^initialSet.mask: set 1 has no valid element/,
      );
      expect(() => model.decodeInitialSet(noInitial)).toThrow(
        /^initialSet: expected at least one set of at least one element \(x \[B≥1,N≥1,8\]\), got \[2,0,8\]/,
      );
      expect(() => model.sample([3, 0])).toThrow(/^sizes\[1\]: expected an integer in \[1, 64\]/);
      // a NaN in the data is named as the caller's batch, in every entry point
      for (const call of [() => model.loss(nan), () => model.reconstruct(nan), () => model.encode(nan)]) {
        expect(call).toThrow(/^batch: expected finite values, got NaN at x\[0,1,0\]/);
      }
      expect(() => model.trainStep(nan)).toThrow(NonFiniteBatchError);
      expect(() => model.trainStep(nan)).toThrow(/batch.x holds NaN at a valid element \[0,1,0\]/);
    });
    expect(model.step).toBe(0);
    tf.dispose([batch.x, batch.mask, empty.mask, noElements, initial, noInitial, emptyInitialMask, nan]);
    model.dispose();
  });

  it('a model whose weights overflowed is named as such by loss and trainStep, not as an argument', async () => {
    const model = new SetVAE({ ...tiny, outputMap: 'identity' });
    for (const { variable } of model.namedWeights()) variable.assign(tf.fill(variable.shape, 1e30));
    const batch = padded(ringSets([5, 4], 1));
    await expectNoLeak(() => {
      expect(() => model.loss(batch)).toThrow(
        /^loss: the model's reconstruction is not finite \(NaN at x\[0,0,0\]\) although the batch is: its weights have diverged/,
      );
      expect(() => model.trainStep(batch)).toThrow(DivergenceError);
      expect(() => model.trainStep(batch)).toThrow(/at step 0 the model's output is not finite/);
      expect(() => model.trainStep(batch)).not.toThrow(/\ba: expected finite/);
    });
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('a diverging run stops with a DivergenceError naming the step and term, weights untouched', async () => {
    const model = new SetVAE({ ...tiny, learningRate: 1e3, outputMap: 'identity' });
    const batches = [padded(ringSets([6, 5], 2)), padded(ringSets([4, 6], 3))];
    let before: number[][] = [];
    const error = await model
      .fit(batches, {
        epochs: 50,
        maxLoss: 1e6,
        onProgress: () => {
          before = model.trainableVariables.map((v) => Array.from(v.dataSync()));
        },
      })
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    const { step, term } = error as DivergenceError;
    expect((error as Error).message).toMatch(
      new RegExp(`at step ${step} the (loss term '${term}'|gradient norm|model's output)`),
    );
    expect(model.step).toBe(step);
    expect(model.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(before);
    // …and the weights it kept are finite, so they can be saved
    const saved = await saveModel(model, {
      save: async () => ({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
    });
    expect(saved).toBeUndefined();
    tf.dispose(batches.flatMap((b) => [b.x, b.mask]));
    model.dispose();
  });

  it('never writes non-finite weights', async () => {
    const model = new SetVAE(tiny);
    let written = false;
    const handler = {
      save: async () => {
        written = true;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' as const } };
      },
    };
    const [first] = model.namedWeights();
    first.variable.assign(tf.fill(first.variable.shape, Number.NaN));
    await expect(model.save(handler)).rejects.toThrow(
      /save: weight model\/input\/kernel holds NaN at flat index 0; refusing/,
    );
    expect(written).toBe(false);
    model.dispose();
  });
}, ['cpu']);
