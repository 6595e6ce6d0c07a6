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
import { TopNCreation, topNCreation } from './top-n-creation.js';

interface TopNCase {
  name: string;
  B: number;
  latent_dim: number;
  cosine_channels: number;
  set_channels: number;
  max_n: number;
  n: number;
  z: number[][];
  weights: Record<string, number[] | number[][]>;
  angles_normalized: number[][];
  softmax_scores: number[][];
  topn_indices: number[][];
  output: number[][][];
}

const fixture = loadFixture<{ cases: TopNCase[] }>(import.meta.dirname, 'topn.json');
const WEIGHT_ORDER = [
  'points',
  'angles_params',
  'angle_mlp_W1',
  'angle_mlp_b1',
  'angle_mlp_W_final',
  'angle_mlp_b_final',
  'film_lin1_W',
  'film_lin1_b',
  'film_lin2_W',
  'film_lin2_b',
];

function fixtureLayer(c: TopNCase): TopNCreation {
  const layer = topNCreation({
    referenceSize: c.max_n,
    angleDim: c.cosine_channels,
    featureDim: c.set_channels,
    maxSize: c.n,
  });
  layer.build([null, c.latent_dim]);
  const weights = WEIGHT_ORDER.map((k) => tf.tensor(c.weights[k] as number[]));
  layer.setWeights(weights);
  tf.dispose(weights);
  return layer;
}

describeBackends('TopNCreation', () => {
  for (const c of fixture.cases) {
    it(`matches the reference fixture (${c.name})`, () => {
      const layer = fixtureLayer(c);
      const z = tf.tensor2d(c.z);
      const { angles, scores } = layer.scores(z);
      expectClose(angles.dataSync(), c.angles_normalized.flat(), { rtol: 1e-4, atol: 1e-6 });
      expectClose(scores.dataSync(), c.softmax_scores.flat(), { rtol: 1e-4, atol: 1e-7 });
      const { x, mask } = layer.create(z, new Array(c.B).fill(c.n));
      expect(x.shape).toEqual([c.B, c.n, c.set_channels]);
      expect(Array.from(mask!.dataSync()).every((v) => v === 1)).toBe(true);
      expectClose(x.dataSync(), c.output.flat(2), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([z, angles, scores, x, mask!]);
    });
  }

  it('orders the set by score and respects sizes: prefix mask, zero padding, padded batch == one by one', () => {
    const c = fixture.cases[0];
    const layer = fixtureLayer(c);
    const z = tf.tensor2d(c.z);
    const { x, mask } = layer.create(z, [9, 4, 1]);
    expect(x.shape).toEqual([3, 9, 16]);
    expect(Array.from(tf.sum(mask!, 1).dataSync())).toEqual([9, 4, 1]);
    const v = x.arraySync();
    expect(
      v[1]
        .slice(4)
        .flat()
        .every((e) => e === 0),
    ).toBe(true);
    // one by one: set b of size n picks the same top-n; n·s uses its own n
    for (const [b, n] of [
      [1, 4],
      [2, 1],
    ]) {
      const zb = tf.slice(z, [b, 0], [1, -1]) as tf.Tensor2D;
      const alone = layer.create(zb, [n]);
      expectClose(v[b].slice(0, n).flat(), alone.x.arraySync()[0].slice(0, n).flat(), {
        rtol: 1e-6,
        atol: 1e-7,
      });
      tf.dispose([zb, alone.x, alone.mask!]);
    }
    // deterministic given z
    const again = layer.create(z, [9, 4, 1]);
    expect(Array.from(again.x.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([z, x, mask!, again.x, again.mask!]);
  });

  it('creates sets beyond maxSize up to referenceSize, and fails clearly beyond it', async () => {
    const layer = topNCreation({ referenceSize: 8, angleDim: 2, featureDim: 3, maxSize: 4, seed: 1 });
    const z = randomTensor(3, [2, 5]) as tf.Tensor2D;
    const { x, mask } = layer.create(z, [8, 2]);
    expect(x.shape).toEqual([2, 8, 3]);
    // every reference point is used exactly once in a set of size n0
    const points = layer.getWeights()[0].arraySync() as number[][];
    expect(new Set(x.arraySync()[0].map((row) => row.join())).size).toBe(8);
    expect(points).toHaveLength(8);
    expect(() => layer.create(z, [9, 2])).toThrow(ShapeError);
    expect(() => layer.create(z, [9, 2])).toThrow(/sizes\[0\]: 9 exceeds referenceSize = 8/);
    await expectNoLeak(() => layer.create(z, [9, 2]));
    tf.dispose([z, x, mask!]);
  });

  it('gradients w.r.t. z, angles and points match finite differences', () => {
    const layer = topNCreation({ referenceSize: 6, angleDim: 2, featureDim: 2, maxSize: 3, seed: 5 });
    const z = randomTensor(7, [2, 3]) as tf.Tensor2D;
    const probe = randomTensor(8, [2, 3, 2]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(layer.create(t as tf.Tensor2D, [3, 2]).x, probe)) as tf.Scalar;
    const gz = tf.grad(f)(z);
    expectClose(gz.dataSync(), finiteDifferenceGradient(f, z, 1e-3), { rtol: 2e-2, atol: 2e-3 });
    expect(Array.from(gz.dataSync()).some((v) => Math.abs(v) > 1e-4)).toBe(true);

    const weights = layer.getWeights();
    const { value, grads } = tf.variableGrads(() => f(z));
    const named = (part: string) => Object.entries(grads).find(([k]) => k.endsWith(`/${part}`))![1];
    for (const [index, part] of [
      [0, 'points'],
      [1, 'angles'],
    ] as const) {
      const fw = (t: tf.Tensor) => {
        layer.setWeights(weights.map((w, i) => (i === index ? t : w)));
        return f(z);
      };
      const expected = finiteDifferenceGradient(fw, weights[index], 1e-3);
      layer.setWeights(weights);
      expectClose(named(part).dataSync(), expected, { rtol: 2e-2, atol: 2e-3 });
      expect(Array.from(expected).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    }
    expect(Object.keys(grads)).toHaveLength(10);
    tf.dispose([z, probe, gz, value, ...Object.values(grads)]);
  });

  it('has the documented weight order and shapes, and round-trips through a saved model', async () => {
    const layer = topNCreation({ referenceSize: 7, angleDim: 3, featureDim: 4, maxSize: 5, seed: 2 });
    const input = tfl.input({ shape: [6] });
    const outputs = layer.apply(input) as tfl.SymbolicTensor[];
    expect(outputs.map((o) => o.shape)).toEqual([
      [null, 5, 4],
      [null, 5],
    ]);
    expect(layer.getWeights().map((w) => w.shape)).toEqual([
      [7, 4],
      [7, 3],
      [6, 32],
      [32],
      [32, 3],
      [3],
      [1, 4],
      [4],
      [1, 4],
      [4],
    ]);
    // angles start on the unit sphere
    const norms = tf.norm(layer.getWeights()[1], 'euclidean', 1);
    expectClose(norms.dataSync(), new Array(7).fill(1), { rtol: 1e-4 });
    const model = tfl.model({ inputs: input, outputs });
    const saved = await saveToMemory(model);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const z = randomTensor(4, [2, 6]);
    const [a, am] = model.predict(z) as tf.Tensor[];
    const [b, bm] = loaded.predict(z) as tf.Tensor[];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(bm.dataSync())).toEqual(Array.from(am.dataSync()));
    tf.dispose([norms, z, a, am, b, bm]);
    model.dispose();
    loaded.dispose();
  });

  it('leaks nothing in create, a training step and a throwing call', async () => {
    const layer = topNCreation({ referenceSize: 6, angleDim: 2, featureDim: 2, maxSize: 3, seed: 5 });
    const z = randomTensor(7, [2, 3]) as tf.Tensor2D;
    const first = layer.create(z, [3, 1]);
    tf.dispose([first.x, first.mask!]);
    const before = tf.memory().numTensors;
    const out = layer.create(z, [3, 1]);
    tf.dispose([out.x, out.mask!]);
    const optimizer = tf.train.adam(0.01);
    optimizer.minimize(() => tf.sum(tf.square(layer.create(z, [3, 2]).x)) as tf.Scalar);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const wrongLatent = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => layer.create(wrongLatent, [1, 1])).toThrow(/z: expected \[B, 3\]/);
    await expectNoLeak(() => layer.create(wrongLatent, [1, 1]));
    await expectNoLeak(() => layer.create(z, [1]));
    tf.dispose([z, wrongLatent]);
  });

  it('can be disposed after direct use (create), freeing its weights', () => {
    const before = tf.memory().numTensors;
    const layer = topNCreation({ referenceSize: 5, angleDim: 2, featureDim: 2, maxSize: 3, seed: 1 });
    const z = tf.zeros([1, 2]) as tf.Tensor2D;
    tf.dispose(Object.values(layer.create(z, [2])));
    z.dispose();
    expect(tf.memory().numTensors).toBe(before + 10);
    layer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad configs with ConfigError', () => {
    const base = { referenceSize: 6, angleDim: 2, featureDim: 2, maxSize: 3 };
    expect(() => new TopNCreation({ ...base, maxSize: 7 })).toThrow(/maxSize \(7\).*referenceSize \(6\)/);
    expect(() => new TopNCreation({ ...base, referenceSize: 0 })).toThrow(ConfigError);
    expect(() => new TopNCreation({ ...base, angleDim: -1 })).toThrow(/angleDim/);
    expect(() => new TopNCreation({ ...base, featureDim: 1.5 })).toThrow(ConfigError);
    expect(() => new TopNCreation({ ...base, angleHiddenUnits: 0 })).toThrow(/angleHiddenUnits/);
    expect(() => new TopNCreation({ ...base, similarity: 'l2' as never })).toThrow(/similarity/);
    expect(() => new TopNCreation({ ...base, latentFilm: 1 as never })).toThrow(/latentFilm/);
  });

  it("similarity 'cosine' (Eq. 6) divides by the reference angles' norms: scaling them changes nothing", () => {
    const c = fixture.cases[0];
    const dot = fixtureLayer(c);
    const cosine = topNCreation({
      referenceSize: c.max_n,
      angleDim: c.cosine_channels,
      featureDim: c.set_channels,
      maxSize: c.n,
      similarity: 'cosine',
    });
    cosine.build([null, c.latent_dim]);
    // angles scaled per row by 1..n0: 'cosine' scores = softmax of the true cosines
    const weights = WEIGHT_ORDER.map((k) => tf.tensor(c.weights[k] as number[]));
    const scale = tf.reshape(tf.range(1, c.max_n + 1), [c.max_n, 1]);
    const scaled = weights.map((w, i) => (i === 1 ? tf.mul(w, scale) : w));
    cosine.setWeights(scaled);
    const z = tf.tensor2d(c.z);
    const { angles, scores } = cosine.scores(z);
    const unit = tf.div(scaled[1], tf.add(tf.norm(scaled[1], 'euclidean', 1, true), 1e-5));
    const expected = tf.softmax(tf.matMul(angles, unit, false, true));
    expectClose(scores.dataSync(), expected.dataSync(), { rtol: 1e-5, atol: 1e-7 });
    // the fixture's angles are unit rows: there 'cosine' = 'dot' = the reference
    cosine.setWeights(weights);
    const a = dot.create(z, new Array(c.B).fill(c.n));
    const b = cosine.create(z, new Array(c.B).fill(c.n));
    expectClose(b.x.dataSync(), a.x.dataSync(), { rtol: 1e-4, atol: 1e-5 });
    // while 'dot' follows the scaled norms (the reference code's behaviour once angles drift)
    dot.setWeights(scaled);
    const drift = dot.scores(z);
    expect(Math.max(...Array.from(tf.abs(tf.sub(drift.scores, scores)).dataSync()))).toBeGreaterThan(1e-3);
    expect(cosine.getConfig().similarity).toBe('cosine');
    tf.dispose([...weights, ...scaled, scale, z, angles, scores, unit, expected, a.x, a.mask!, b.x, b.mask!]);
    tf.dispose([drift.angles, drift.scores]);
  });

  it('latentFilm (Eq. 10): γ(z) ⊙ x + β(z) on the reference output, four weights appended, gradients', () => {
    const c = fixture.cases[0];
    const plain = fixtureLayer(c);
    const layer = topNCreation({
      referenceSize: c.max_n,
      angleDim: c.cosine_channels,
      featureDim: c.set_channels,
      maxSize: c.n,
      latentFilm: true,
      seed: 3,
    });
    layer.build([null, c.latent_dim]);
    const fresh = layer.getWeights();
    expect(fresh.map((w) => w.shape).slice(10)).toEqual([
      [c.latent_dim, c.set_channels],
      [c.set_channels],
      [c.latent_dim, c.set_channels],
      [c.set_channels],
    ]);
    // today's ten weights keep their order; the latent FiLM starts at γ bias 1, β bias 0
    expect(Array.from(fresh[11].dataSync()).every((v) => v === 1)).toBe(true);
    expect(Array.from(fresh[13].dataSync()).every((v) => v === 0)).toBe(true);
    const reference = WEIGHT_ORDER.map((k) => tf.tensor(c.weights[k] as number[]));
    const film = [randomTensor(11, [c.latent_dim, c.set_channels]), randomTensor(12, [c.set_channels])];
    film.push(randomTensor(13, [c.latent_dim, c.set_channels]), randomTensor(14, [c.set_channels]));
    layer.setWeights([...reference, ...film]);
    const z = tf.tensor2d(c.z);
    const sizes = [c.n, 3, 1];
    const base = plain.create(z, sizes);
    const out = layer.create(z, sizes);
    const gamma = tf.expandDims(tf.add(tf.matMul(z, film[0]), film[1]), 1);
    const beta = tf.expandDims(tf.add(tf.matMul(z, film[2]), film[3]), 1);
    const expected = tf.mul(tf.add(tf.mul(gamma, base.x), beta), tf.expandDims(base.mask!, 2));
    expectClose(out.x.dataSync(), expected.dataSync(), { rtol: 1e-5, atol: 1e-5 });
    expect(Array.from(out.mask!.dataSync())).toEqual(Array.from(base.mask!.dataSync()));
    // gradient w.r.t. γ's kernel by finite differences (a small layer)
    const small = topNCreation({
      referenceSize: 6,
      angleDim: 2,
      featureDim: 2,
      maxSize: 3,
      latentFilm: true,
      seed: 4,
    });
    small.build([null, 3]);
    const zs = randomTensor(16, [2, 3]) as tf.Tensor2D;
    const probe = randomTensor(15, [2, 3, 2]);
    const f = () => tf.sum(tf.mul(small.create(zs, [3, 2]).x, probe)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(f);
    const all = small.getWeights();
    const kernelGrad = grads[(small.weights[10].read() as tf.Variable).name];
    const fk = (t: tf.Tensor) => {
      small.setWeights(all.map((w, i) => (i === 10 ? t : w)));
      return f();
    };
    const numeric = finiteDifferenceGradient(fk, all[10], 1e-3);
    small.setWeights(all);
    expectClose(kernelGrad.dataSync(), numeric, { rtol: 2e-2, atol: 2e-3 });
    expect(Array.from(numeric).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(Object.keys(grads)).toHaveLength(14);
    expect(layer.getConfig().latentFilm).toBe(true);
    tf.dispose([...fresh, ...reference, ...film, ...all, z, base.x, base.mask!, out.x, out.mask!]);
    tf.dispose([gamma, beta, expected, probe, zs, value, ...Object.values(grads)]);
  });
});
