import { ConfigError, DataError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  prefixMask,
  randomSet,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CREATION_METHODS, OneShotSetVAE, type OneShotSetVAEConfig } from './one-shot-set-vae.js';

/** A tiny model: every call takes milliseconds. Positions only (inputDim = outputDim = 3). */
const tiny = (creation: OneShotSetVAEConfig['creation'], extra: Partial<OneShotSetVAEConfig> = {}) =>
  new OneShotSetVAE({
    creation,
    inputDim: 3,
    outputDim: 3,
    maxSize: 6,
    latentDim: 4,
    setChannels: 4,
    angleDim: 2,
    hiddenDim: 8,
    numHeads: 2,
    encoderBlocks: 1,
    decoderBlocks: 1,
    mlpHidden: 8,
    mlpCreationHidden: 8,
    sizeHistogram: [0, 0, 1, 2, 1, 0, 3],
    seed: 5,
    ...extra,
  });

const points = (rows: number[][]) => tf.tensor3d([rows]);

/** `x` with NaN in its padded rows (fillPadding multiplies by the mask, and 0·NaN = NaN). */
const nanPadding = (x: tf.Tensor3D, mask: tf.Tensor2D) =>
  tf.tidy(() =>
    tf.where(tf.cast(tf.expandDims(mask, 2), 'bool'), x, tf.fill(x.shape, Number.NaN)),
  ) as tf.Tensor3D;

describeBackends('OneShotSetVAE', () => {
  it('penalties (App. D.2) equal hand-worked values: pairs counted twice, valency beyond the 4th neighbour', () => {
    const model = tiny('firstn', { maxSize: 7 });
    // a line 0, 0.5, 3: one pair too close (twice: 2·0.5), atom 2's nearest at 2.5 (0.5 too far)
    const line = points([
      [0, 0, 0],
      [0.5, 0, 0],
      [3, 0, 0],
    ]);
    const a = model.penalties(line, tf.ones([1, 3]), [3]);
    expectClose([a.minDistance.dataSync()[0], a.valency.dataSync()[0]], [1, 0.5], { rtol: 1e-5 });
    // an octahedron of radius 1.5 around a centre: the centre's 5th and 6th neighbours are
    // within 2 (2·(2 − 1.5)); leaves have 4 neighbours within 2 (2.12 > 2): nothing else
    const r = 1.5;
    const star = points([
      [0, 0, 0],
      [r, 0, 0],
      [-r, 0, 0],
      [0, r, 0],
      [0, -r, 0],
      [0, 0, r],
      [0, 0, -r],
    ]);
    const b = model.penalties(star, tf.ones([1, 7]), [7]);
    expectClose([b.minDistance.dataSync()[0], b.valency.dataSync()[0]], [0, 1], { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([line, star, a.minDistance, a.valency, b.minDistance, b.valency]);
    model.dispose();
  });

  it('penalties: padding (even NaN) changes nothing; padded batch = sum of sets alone; gradients match finite differences', () => {
    const model = tiny('firstn');
    const sizes = [6, 4, 2];
    const x = tf.mul(randomSet(3, [3, 6, 3]), 2) as tf.Tensor3D;
    const mask = prefixMask(sizes, 6);
    const junk = nanPadding(x, mask);
    const all = model.penalties(junk, mask, sizes);
    let minDistance = 0;
    let valency = 0;
    sizes.forEach((n, b) => {
      const one = tf.slice(x, [b, 0, 0], [1, n, 3]) as tf.Tensor3D;
      const p = model.penalties(one, tf.ones([1, n]), [n]);
      minDistance += p.minDistance.dataSync()[0];
      valency += p.valency.dataSync()[0];
      tf.dispose([one, p.minDistance, p.valency]);
    });
    expectClose([all.minDistance.dataSync()[0], all.valency.dataSync()[0]], [minDistance, valency], {
      rtol: 1e-5,
      atol: 1e-6,
    });
    expect(minDistance + valency).toBeGreaterThan(0);
    const f = (t: tf.Tensor) => {
      const p = model.penalties(t as tf.Tensor3D, mask, sizes);
      return tf.add(p.minDistance, tf.mul(p.valency, 0.5)) as tf.Scalar;
    };
    const g = tf.grad(f)(x);
    expectClose(g.dataSync(), finiteDifferenceGradient(f, x, 1e-3), { rtol: 3e-2, atol: 3e-3 });
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    // coincident points: finite (zero) gradient, never NaN
    const same = points([
      [1, 1, 1],
      [1, 1, 1],
      [2, 1, 1],
    ]);
    const gs = tf.grad((t: tf.Tensor) => {
      const p = model.penalties(t as tf.Tensor3D, tf.ones([1, 3]), [3]);
      return tf.add(p.minDistance, p.valency) as tf.Scalar;
    })(same);
    expect(Array.from(gs.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, mask, junk, all.minDistance, all.valency, g, same, gs]);
    model.dispose();
  });

  for (const creation of CREATION_METHODS) {
    it(`${creation}: loss terms, permutation invariance, padding never changes a result`, () => {
      const model = tiny(creation);
      const sizes = [5, 3];
      const x = randomSet(7, [2, 5, 3]);
      const mask = prefixMask(sizes, 5);
      const terms = model.loss({ x, mask }, { seed: 11 });
      expect(Object.keys(terms).sort()).toEqual(['kl', 'minDistance', 'recon', 'total', 'valency']);
      const w = model.config.lossWeights;
      const v = Object.fromEntries(Object.entries(terms).map(([k, t]) => [k, t.dataSync()[0]]));
      expectClose(v.total, v.recon + w.kl * v.kl + w.minDistance * v.minDistance + w.valency * v.valency, {
        rtol: 1e-5,
      });
      // within-set permutation and NaN in the padding: the same loss (same seed)
      const perm = tf.gather(x, [2, 0, 4, 1, 3], 1) as tf.Tensor3D;
      const permuted = tf.concat([
        tf.slice(perm, [0, 0, 0], [1, -1, -1]),
        tf.slice(x, [1, 0, 0], [1, -1, -1]),
      ]);
      const junk = nanPadding(permuted as tf.Tensor3D, mask);
      const again = model.loss({ x: junk, mask }, { seed: 11 });
      expectClose(again.total.dataSync()[0], v.total, { rtol: 1e-4 });
      // encoder: invariant; padded batch = sets one by one
      const { mu, logvar } = model.encode({ x: junk, mask });
      const { mu: mu0 } = model.encode({ x, mask });
      expectClose(mu.dataSync(), mu0.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      const alone = model.encode({ x: tf.slice(x, [1, 0, 0], [1, 3, 3]) as tf.Tensor3D });
      expectClose(alone.mu.dataSync(), mu.arraySync()[1], { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([x, mask, perm, permuted, junk, mu, logvar, mu0, alone.mu, alone.logvar]);
      tf.dispose([...Object.values(terms), ...Object.values(again)]);
      model.dispose();
    });
  }

  it('equivariance: permuting a set changes neither its latent nor its reconstruction (the same rows)', () => {
    for (const creation of CREATION_METHODS) {
      const model = tiny(creation);
      const x = randomSet(12, [2, 5, 3]);
      const mask = prefixMask([5, 4], 5);
      const order = [3, 1, 4, 0, 2];
      // permute the first set's elements; the second set's 4 elements among themselves
      const permuted = tf.stack([
        tf.gather(tf.squeeze(tf.slice(x, [0, 0, 0], [1, -1, -1]), [0]), order),
        tf.gather(tf.squeeze(tf.slice(x, [1, 0, 0], [1, -1, -1]), [0]), [2, 0, 3, 1, 4]),
      ]) as tf.Tensor3D;
      const a = model.reconstruct({ x, mask }, { seed: 6 });
      const b = model.reconstruct({ x: permuted, mask }, { seed: 6 });
      expectClose(b.x.dataSync(), a.x.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      const ea = model.encode({ x, mask });
      const eb = model.encode({ x: permuted, mask });
      expectClose(eb.mu.dataSync(), ea.mu.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      expectClose(eb.logvar.dataSync(), ea.logvar.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([x, mask, permuted, a.x, a.mask, b.x, b.mask, ea.mu, ea.logvar, eb.mu, eb.logvar]);
      model.dispose();
    }
  });

  it('decoding: padded batch = each set alone (prefix mask, zero padding); reconstructions are sets of the right sizes', () => {
    for (const creation of ['topn', 'firstn', 'mlp'] as const) {
      const model = tiny(creation);
      const x = randomSet(9, [2, 6, 3]);
      const mask = prefixMask([6, 2], 6);
      const out = model.reconstruct({ x, mask });
      expect(out.x.shape).toEqual([2, 6, 3]);
      expect(Array.from(out.mask.dataSync())).toEqual(Array.from(mask.dataSync()));
      const values = out.x.arraySync();
      expect(
        values[1]
          .slice(2)
          .flat()
          .every((e) => e === 0),
      ).toBe(true);
      const alone = model.reconstruct({ x: tf.slice(x, [1, 0, 0], [1, 2, 3]) as tf.Tensor3D });
      expectClose(alone.x.dataSync(), values[1].slice(0, 2).flat(), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([x, mask, out.x, out.mask, alone.x, alone.mask]);
      model.dispose();
    }
  });

  it('sample: sizes from the histogram (+ extraSize, clamped), or predicted from z; seeded', () => {
    const model = tiny('topn', { referenceSize: 9 });
    const a = model.sample(40, { seed: 3 });
    const sizes = Array.from(tf.sum(a.mask, 1).dataSync());
    expect(new Set(sizes).size).toBeGreaterThan(1);
    expect(sizes.every((n) => [2, 3, 4, 6].includes(n))).toBe(true);
    const b = model.sample(40, { seed: 3 });
    expect(Array.from(b.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
    const c = model.sample(40, { seed: 3, extraSize: 5 });
    const extra = Array.from(tf.sum(c.mask, 1).dataSync());
    expect(extra.every((n, i) => n === Math.min(sizes[i] + 5, 9))).toBe(true);
    const d = model.sample(2, { sizes: [1, 9] });
    expect(Array.from(tf.sum(d.mask, 1).dataSync())).toEqual([1, 9]);
    tf.dispose([a.x, a.mask, b.x, b.mask, c.x, c.mask, d.x, d.mask]);
    model.dispose();

    const latent = tiny('firstn', { cardinality: 'latent', averageSize: 4 });
    const x = randomSet(2, [3, 4, 3]);
    const terms = latent.loss({ x }, { seed: 1 });
    expect(terms.size.dataSync()[0]).toBeGreaterThanOrEqual(0);
    const z = tf.randomNormal([5, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const predicted = Array.from(latent.predictSizes(z).dataSync(), (n) =>
      Math.min(Math.max(Math.round(n), 2), 6),
    );
    const s = latent.sample(5, { seed: 1 });
    expect(Array.from(tf.sum(s.mask, 1).dataSync()).every((n) => n >= 2 && n <= 6)).toBe(true);
    expect(predicted.every((n) => n >= 2 && n <= 6)).toBe(true);
    tf.dispose([x, ...Object.values(terms), z, s.x, s.mask]);
    latent.dispose();
  });

  it('leaves no tensor behind: loss, a gradient step, sample, reconstruct, failing calls', async () => {
    for (const creation of CREATION_METHODS) {
      const model = tiny(creation);
      const x = randomSet(4, [2, 5, 3]);
      const mask = prefixMask([5, 3], 5);
      const optimizer = tf.train.adam(1e-3);
      const step = () => {
        const { value, grads } = tf.variableGrads(
          () => model.loss({ x, mask }, { seed: 2 }).total,
          model.trainableVariables as tf.Variable[],
        );
        optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
        tf.dispose([value, ...Object.values(grads)]);
      };
      step(); // optimizer state is created on the first step
      await expectNoLeak(step);
      await expectNoLeak(() => tf.dispose(Object.values(model.loss({ x, mask }))));
      await expectNoLeak(() => tf.dispose(Object.values(model.sample(3, { seed: 1 }))));
      await expectNoLeak(() => tf.dispose(Object.values(model.reconstruct({ x, mask }))));
      const big = tf.zeros([1, 7, 3]) as tf.Tensor3D;
      if (creation !== 'iid') {
        await expectNoLeak(() => model.loss({ x: big }));
        expect(() => model.loss({ x: big })).toThrow(ShapeError);
      }
      await expectNoLeak(() => model.loss({ x, mask }, { weights: { beta: 1 } }));
      tf.dispose([x, mask, big]);
      optimizer.dispose();
      model.dispose();
    }
  });

  it('masks: mask > 0.5 is an element (0.3/0.7 act as 0/1, NaN as 0); NaN, 1e30, ±Inf in padding change nothing', () => {
    for (const creation of ['topn', 'iid'] as const) {
      const model = tiny(creation);
      const sizes = [5, 3, 2];
      const x = randomSet(8, [3, 5, 3]);
      const mask = prefixMask(sizes, 5);
      // the same batch with soft mask values and junk in every padded entry
      const soft = tf.tensor2d([
        [0.7, 0.7, 1, 0.7, 2],
        [0.7, 1, 0.51, 0.3, 0],
        [1, 0.7, Number.NaN, 0.5, 0.3],
      ]);
      const junkValues = [Number.NaN, 1e30, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1e30];
      const junk = tf.tidy(() => {
        const fill = tf.reshape(
          tf.tensor1d(Array.from({ length: 45 }, (_, i) => junkValues[i % junkValues.length])),
          [3, 5, 3],
        );
        return tf.where(tf.cast(tf.expandDims(mask, 2), 'bool'), x, fill);
      }) as tf.Tensor3D;
      const clean = model.loss({ x, mask }, { seed: 3 });
      const dirty = model.loss({ x: junk, mask: soft }, { seed: 3 });
      for (const k of Object.keys(clean)) {
        expect(dirty[k].dataSync()[0], `${creation} loss.${k}`).toBe(clean[k].dataSync()[0]);
        expect(Number.isFinite(dirty[k].dataSync()[0])).toBe(true);
      }
      const e0 = model.encode({ x, mask });
      const e1 = model.encode({ x: junk, mask: soft });
      expect(Array.from(e1.mu.dataSync())).toEqual(Array.from(e0.mu.dataSync()));
      expect(Array.from(e1.logvar.dataSync())).toEqual(Array.from(e0.logvar.dataSync()));
      const r0 = model.reconstruct({ x, mask }, { seed: 2 });
      const r1 = model.reconstruct({ x: junk, mask: soft }, { seed: 2 });
      expect(Array.from(r1.x.dataSync())).toEqual(Array.from(r0.x.dataSync()));
      expect(Array.from(r1.mask.dataSync())).toEqual(Array.from(mask.dataSync()));
      // ... and the padded batch gives each set's result alone (the unpadded input)
      const alone = model.encode({ x: tf.slice(x, [2, 0, 0], [1, 2, 3]) as tf.Tensor3D });
      expectClose(alone.mu.dataSync(), e1.mu.arraySync()[2], { rtol: 1e-4, atol: 1e-5 });
      const ownAlone = model.reconstruct({ x: tf.slice(x, [1, 0, 0], [1, 3, 3]) as tf.Tensor3D });
      if (creation !== 'iid') {
        // (i.i.d. creation draws its noise for the whole batch: only the encoder is per set)
        expectClose(ownAlone.x.dataSync(), r1.x.arraySync()[1].slice(0, 3).flat(), {
          rtol: 1e-4,
          atol: 1e-5,
        });
      }
      // penalties take a soft mask the same way
      const p0 = model.penalties(r0.x, mask, sizes);
      const p1 = model.penalties(r0.x, soft, sizes);
      expect(p1.minDistance.dataSync()[0]).toBe(p0.minDistance.dataSync()[0]);
      expect(p1.valency.dataSync()[0]).toBe(p0.valency.dataSync()[0]);
      tf.dispose([x, mask, soft, junk, ...Object.values(clean), ...Object.values(dirty)]);
      tf.dispose([e0.mu, e0.logvar, e1.mu, e1.logvar, r0.x, r0.mask, r1.x, r1.mask]);
      tf.dispose([alone.mu, alone.logvar, ownAlone.x, ownAlone.mask, p0.minDistance, p0.valency]);
      tf.dispose([p1.minDistance, p1.valency]);
      model.dispose();
    }
  });

  it('every failing call throws its typed error and leaves tf.memory().numTensors unchanged', () => {
    const model = tiny('topn', { sizeHistogram: undefined });
    const firstn = tiny('firstn');
    const x = randomSet(1, [2, 4, 3]);
    const big = tf.zeros([1, 7, 3]) as tf.Tensor3D;
    const wrong = tf.zeros([1, 3, 2]) as tf.Tensor3D;
    const holes = tf.tensor2d([
      [1, 0.2, 0.9, 0],
      [1, 1, 0, 0],
    ]);
    const empty = tf.tensor2d([
      [1, 1, 0, 0],
      [0.4, 0, 0, 0],
    ]);
    const badShape = tf.ones([2, 3]);
    const z = tf.zeros([1, 4]) as tf.Tensor2D;
    const cases: [string, () => unknown, new (...a: never[]) => Error][] = [
      ['loss: x of the wrong width', () => model.loss({ x: wrong }), ShapeError],
      ['loss: mask of the wrong shape', () => model.loss({ x, mask: badShape as tf.Tensor2D }), ShapeError],
      ['loss: elements after padding', () => model.loss({ x, mask: holes as tf.Tensor2D }), DataError],
      [
        'loss: a set with no element (0.4 is padding)',
        () => model.loss({ x, mask: empty as tf.Tensor2D }),
        DataError,
      ],
      ['loss: above the reference set', () => model.loss({ x: big }), ShapeError],
      ['loss: unknown weight', () => model.loss({ x }, { weights: { beta: 1 } }), ConfigError],
      ['loss: NaN weight', () => model.loss({ x }, { weights: { kl: Number.NaN } }), ConfigError],
      ['loss: fractional seed', () => model.loss({ x }, { seed: 0.5 }), ConfigError],
      ['encode: above maxSize (first-n)', () => firstn.encode({ x: big }), ShapeError],
      ['encode: elements after padding', () => model.encode({ x, mask: holes as tf.Tensor2D }), DataError],
      ['reconstruct: x of the wrong width', () => model.reconstruct({ x: wrong }), ShapeError],
      [
        'reconstruct: a set with no element',
        () => model.reconstruct({ x, mask: empty as tf.Tensor2D }),
        DataError,
      ],
      ['sample: no histogram', () => model.sample(2), ConfigError],
      ['sample: count 0', () => model.sample(0), ConfigError],
      ['sample: negative extraSize', () => firstn.sample(2, { extraSize: -1 }), ConfigError],
      ['sample: size above the reference set', () => model.sample(1, { sizes: [7] }), ShapeError],
      ['sample: wrong number of sizes', () => model.sample(2, { sizes: [3] }), ShapeError],
      ['sample: fractional seed', () => firstn.sample(2, { seed: 1.5 }), ConfigError],
      ['predictSizes without the latent cardinality', () => firstn.predictSizes(z), ConfigError],
    ];
    for (const [name, call, type] of cases) {
      const before = tf.memory().numTensors;
      expect(call, name).toThrow(type);
      expect(tf.memory().numTensors, name).toBe(before);
    }
    tf.dispose([x, big, wrong, holes, empty, badShape, z]);
    model.dispose();
    firstn.dispose();
    const before = tf.memory().numTensors;
    const y = tf.zeros([1, 3, 3]) as tf.Tensor3D;
    expect(() => model.loss({ x: y })).toThrow(/disposed/);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('every trainable variable gets a gradient; a rebuilt model with copied weights gives identical results', () => {
    const model = tiny('topn');
    const x = randomSet(6, [2, 5, 3]);
    const mask = prefixMask([5, 4], 5);
    const { value, grads } = tf.variableGrads(
      () => model.loss({ x, mask }, { seed: 4 }).total,
      model.trainableVariables as tf.Variable[],
    );
    for (const v of model.trainableVariables) {
      expect(grads[v.name], v.name).toBeDefined();
      expect(Array.from(grads[v.name].dataSync()).every(Number.isFinite)).toBe(true);
    }
    const copy = new OneShotSetVAE(model.getConfig() as unknown as OneShotSetVAEConfig);
    const names = model.namedWeights().map((w) => w.name);
    expect(copy.namedWeights().map((w) => w.name)).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    copy.namedWeights().forEach(({ variable }, i) => {
      variable.assign(model.namedWeights()[i].variable);
    });
    const a = model.loss({ x, mask }, { seed: 4 });
    const b = copy.loss({ x, mask }, { seed: 4 });
    expect(b.total.dataSync()[0]).toBe(a.total.dataSync()[0]);
    tf.dispose([x, mask, value, ...Object.values(grads), ...Object.values(a), ...Object.values(b)]);
    model.dispose();
    copy.dispose();
  });

  it('trains through the runtime, saves, loads as its own class and resumes exactly (topn, iid)', async () => {
    for (const creation of ['topn', 'iid'] as const) {
      const data = [5, 3, 4].map((n, i) => ({ x: randomSet(20 + i, [3, n, 3]) }));
      const model = tiny(creation, { learningRate: 1e-2 });
      await model.fit(data, { epochs: 2 });
      let saved: tf.io.ModelArtifacts | null = null;
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          saved = { ...artifacts, weightData: (artifacts.weightData as ArrayBuffer).slice(0) };
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const losses: number[] = [];
      await model.fit(data, { epochs: 4, onProgress: (p) => void losses.push(p.losses.total) });
      const loaded = await OneShotSetVAE.load(tf.io.fromMemory(saved!));
      expect(loaded).toBeInstanceOf(OneShotSetVAE);
      expect([loaded.step, loaded.epoch]).toEqual([6, 2]);
      expect(loaded.getConfig()).toEqual(model.getConfig());
      const resumed: number[] = [];
      await loaded.fit(data, { epochs: 4, onProgress: (p) => void resumed.push(p.losses.total) });
      expect(resumed).toEqual(losses);
      expect(losses.every(Number.isFinite)).toBe(true);
      const values = (m: OneShotSetVAE) => m.trainableVariables.map((v) => Array.from(v.dataSync()));
      expect(values(loaded)).toEqual(values(model));
      tf.dispose(data.map((b) => b.x));
      model.dispose();
      loaded.dispose();
    }
  });

  it("training plan: the reference's recipe by default; the penalty ramp and a plateau that waits for it", () => {
    const reference = tiny('topn');
    const plan = reference.trainingPlan();
    expect(plan.clipNorm).toBe(4);
    const lr = plan.learningRate as Exclude<typeof plan.learningRate, number | undefined>;
    expect(lr({ step: 0, epoch: 0 })).toBe(2e-4);
    const weights = plan.lossWeights as (p: { step: number; epoch: number }) => Record<string, number>;
    expect(weights({ step: 0, epoch: 0 })).toEqual({ minDistance: 200, valency: 200 });
    // 751 epochs without improvement halve the rate (patience 750)
    for (let e = 0; e <= 751; e++) lr.observe?.(1, { step: e, epoch: e });
    expect(lr({ step: 752, epoch: 752 })).toBe(1e-4);
    reference.dispose();
    const ramped = tiny('topn', { penaltyRamp: [2, 6], plateauPatience: 0 });
    const p2 = ramped.trainingPlan();
    const w2 = p2.lossWeights as (p: { step: number; epoch: number }) => Record<string, number>;
    expect([1, 4, 8].map((epoch) => w2({ step: 0, epoch }).valency)).toEqual([0, 100, 200]);
    const lr2 = p2.learningRate as Exclude<typeof p2.learningRate, number | undefined>;
    for (let e = 0; e < 6; e++) lr2.observe?.(10 + e, { step: e, epoch: e }); // worse each epoch, ignored
    expect(lr2({ step: 6, epoch: 6 })).toBe(2e-4);
    lr2.observe?.(20, { step: 6, epoch: 6 });
    lr2.observe?.(21, { step: 7, epoch: 7 });
    expect(lr2({ step: 8, epoch: 8 })).toBe(1e-4);
    expect(() => tiny('topn', { penaltyRamp: [5, 2] })).toThrow(/penaltyRamp/);
    ramped.dispose();
  });

  it('rejects bad configs and inputs with typed errors naming the argument', () => {
    expect(() => tiny('fourier' as never)).toThrow(
      /creation must be one of 'topn' \| 'firstn' \| 'iid' \| 'mlp'/,
    );
    expect(() => tiny('fourier' as never)).toThrow(ConfigError);
    // Top-n creates up to its reference set (n0 = 9 > maxSize = 6); a larger set is a ShapeError
    const wide = tiny('topn', { referenceSize: 9 });
    const eight = randomSet(3, [1, 8, 3]);
    const ten = tf.zeros([1, 10, 3]) as tf.Tensor3D;
    const fine = wide.encode({ x: eight });
    expect(fine.mu.shape).toEqual([1, 4]);
    expect(() => wide.encode({ x: ten })).toThrow(
      /set 0 has 10 elements, above the largest set the topn creation makes \(9\)/,
    );
    expect(() => wide.loss({ x: ten })).toThrow(ShapeError);
    expect(() => wide.sample(1, { sizes: [10] })).toThrow(
      /options.sizes\[0\]: expected an integer in \[1, 9\]/,
    );
    tf.dispose([eight, ten, fine.mu, fine.logvar]);
    wide.dispose();
    expect(() => tiny('topn', { referenceSize: 5 })).toThrow(/referenceSize \(5\) must be ≥ maxSize \(6\)/);
    expect(() => tiny('topn', { hiddenDim: 7 })).toThrow(ConfigError);
    expect(() => tiny('topn', { outputDim: 4 })).toThrow(/outputDim/);
    expect(() => tiny('firstn', { sizeHistogram: [0, 1, 0, 0, 0, 0, 0, 2] })).toThrow(/size 7, above/);
    expect(() => tiny('topn', { lossWeights: { kl: -1 } })).toThrow(/lossWeights.kl/);
    expect(() => tiny('topn', { cardinality: 'oracle' as never })).toThrow(/cardinality/);
    const model = tiny('topn', { sizeHistogram: undefined });
    expect(() => model.sample(2)).toThrow(/sizeHistogram/);
    expect(() => model.sample(0)).toThrow(ConfigError);
    expect(() => model.sample(1, { sizes: [7] })).toThrow(ShapeError);
    const wrong = tf.zeros([1, 3, 2]) as tf.Tensor3D;
    expect(() => model.loss({ x: wrong })).toThrow(/batch.x: expected \[B ≥ 1, N ≥ 1, 3\]/);
    const x = tf.zeros([1, 3, 3]) as tf.Tensor3D;
    expect(() => model.loss({ x, mask: tf.tensor2d([[1, 0, 1]]) })).toThrow(DataError);
    expect(() => model.loss({ x, mask: tf.tensor2d([[0, 0, 0]]) })).toThrow(/empty/);
    expect(() => model.loss({ x }, { weights: { beta: 1 } })).toThrow(/options.weights.beta: unknown term/);
    model.dispose();
    expect(() => model.loss({ x })).toThrow(/disposed/);
    tf.dispose([wrong, x]);
  });
});
