import { ConfigError, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, finiteDifferenceGradient } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { MixtureOfGaussiansPrior, mixtureOfGaussiansPrior } from './mixture-of-gaussians-prior.js';

function setMixture(prior: MixtureOfGaussiansPrior, logits: number[], means: number[][], logStd: number[][]) {
  const values = [tf.tensor1d(logits), tf.tensor2d(means), tf.tensor2d(logStd)];
  prior.setWeights(values);
  tf.dispose(values);
}

/** log p(x) of a diagonal mixture, in float64 on the host. */
function hostLogProb(x: number[], logits: number[], means: number[][], logStd: number[][]): number {
  const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
  const terms = logits.map((l, k) => {
    let t = l - lse;
    x.forEach((v, d) => {
      const s = Math.exp(logStd[k][d]);
      t += -0.5 * ((v - means[k][d]) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
    });
    return t;
  });
  const m = Math.max(...terms);
  return m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
}

describeBackends('MixtureOfGaussiansPrior', () => {
  it('has SetVAE weights in order logits [K], means [K,D], logStd [K,D], initialised as SetVAE', () => {
    const prior = mixtureOfGaussiansPrior({ numComponents: 4, dim: 3, seed: 1 });
    const [logits, means, logStd] = prior.getWeights();
    expect(prior.getWeights().map((w) => w.shape)).toEqual([[4], [4, 3], [4, 3]]);
    expect(Array.from(logits.dataSync())).toEqual([1, 1, 1, 1]);
    // σ = |N(0,1)|/sqrt(K): positive and mostly below 1 for K = 4
    const std = Array.from(logStd.dataSync()).map(Math.exp);
    expect(std.every((s) => s > 0 && s < 3 / 2)).toBe(true);
    expect(new Set(means.dataSync()).size).toBe(12);
  });

  it('samples [B, n, D], repeats exactly for a seed and differs across seeds', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 3, dim: 2, seed: 5 });
    const a = prior.sample(2, 7, { seed: 11 });
    const b = prior.sample(2, 7, { seed: 11 });
    const c = prior.sample(2, 7, { seed: 12 });
    expect(a.shape).toEqual([2, 7, 2]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([a, b, c]);
  });

  it('draws components by their weights and points with their mean and std', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 2, dim: 2, seed: 5 });
    // component 0 at (-10, 0) with weight 0.8, component 1 at (10, 5) with weight 0.2
    setMixture(
      prior,
      [Math.log(0.8), Math.log(0.2)],
      [
        [-10, 0],
        [10, 5],
      ],
      [
        [Math.log(0.5), 0],
        [0, Math.log(2)],
      ],
    );
    const x = prior.sample(40, 100, { seed: 3 });
    const v = x.dataSync();
    const first: number[][] = [];
    const second: number[][] = [];
    for (let i = 0; i < v.length; i += 2) (v[i] < 0 ? first : second).push([v[i], v[i + 1]]);
    expect(first.length / 4000).toBeCloseTo(0.8, 1);
    const stats = (rows: number[][], d: number) => {
      const m = rows.reduce((s, r) => s + r[d], 0) / rows.length;
      const sd = Math.sqrt(rows.reduce((s, r) => s + (r[d] - m) ** 2, 0) / rows.length);
      return [m, sd];
    };
    expectClose(stats(first, 0), [-10, 0.5], { atol: 0.05 });
    expectClose(stats(first, 1), [0, 1], { atol: 0.06 });
    expectClose(stats(second, 0), [10, 1], { atol: 0.1 });
    expectClose(stats(second, 1), [5, 2], { atol: 0.2 });
    x.dispose();
  });

  it('logProb matches the mixture density, and its gradient finite differences', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 2, dim: 3, seed: 2 });
    const logits = [0.3, -0.4];
    const means = [
      [0.1, -0.2, 0.5],
      [1, 0.5, -1],
    ];
    const logStd = [
      [0, -0.3, 0.2],
      [0.4, 0.1, -0.2],
    ];
    setMixture(prior, logits, means, logStd);
    const points = [
      [0.2, 0.1, 0.3],
      [1.5, -0.5, 0.0],
      [-1, 2, 1],
      [0.5, 0.5, 0.5],
    ];
    const x = tf.tensor3d([points.slice(0, 2), points.slice(2)]);
    const lp = prior.logProb(x);
    expect(lp.shape).toEqual([2, 2]);
    expectClose(
      lp.dataSync(),
      points.map((p) => hostLogProb(p, logits, means, logStd)),
      { rtol: 1e-5 },
    );
    const f = (t: tf.Tensor) => tf.sum(prior.logProb(t)) as tf.Scalar;
    const g = tf.grad(f)(x);
    expectClose(g.dataSync(), finiteDifferenceGradient(f, x, 1e-2), { rtol: 2e-2, atol: 2e-3 });
    tf.dispose([x, lp, g]);
  });

  it('trains: gradients reach means and logStd (reparameterised) and logits (straight-through)', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 3, dim: 2, seed: 4 });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(prior.sample(2, 5, { seed: 9 }))) as tf.Scalar,
    );
    const byName = (part: string) => Object.entries(grads).find(([k]) => k.includes(part))![1];
    // d Σ x² / dμ_k = Σ over points drawn from k of 2x: check against the sample itself
    const x = prior.sample(2, 5, { seed: 9 });
    expect(Object.keys(grads)).toHaveLength(3);
    const gMeans = byName('means').dataSync();
    const xs = x.dataSync();
    const totalByDim = [0, 1].map((d) =>
      Array.from(xs)
        .filter((_, i) => i % 2 === d)
        .reduce((s, v) => s + 2 * v, 0),
    );
    expectClose(
      [0, 1].map((d) => gMeans[d] + gMeans[2 + d] + gMeans[4 + d]),
      totalByDim,
      { rtol: 1e-4, atol: 1e-5 },
    );
    expect(Array.from(byName('logits').dataSync()).some((v) => v !== 0)).toBe(true);
    expect(Array.from(byName('logStd').dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([value, x, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('round-trips through getConfig + getWeights/setWeights', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 2, dim: 3, seed: 8 });
    const copy = new MixtureOfGaussiansPrior(prior.getConfig() as any);
    copy.setWeights(prior.getWeights());
    const a = prior.sample(1, 4, { seed: 1 });
    const b = copy.sample(1, 4, { seed: 1 });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(MixtureOfGaussiansPrior.className).toBe('SetgenMixtureOfGaussiansPrior');
    tf.dispose([a, b]);
  });

  it('can be disposed without ever being applied, freeing its weights', () => {
    const before = tf.memory().numTensors;
    const prior = new MixtureOfGaussiansPrior({ numComponents: 2, dim: 3, seed: 1 });
    expect(tf.memory().numTensors).toBe(before + 3);
    prior.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad configs and shapes with typed errors, leaking nothing', async () => {
    expect(() => new MixtureOfGaussiansPrior({ numComponents: 0, dim: 2 })).toThrow(ConfigError);
    expect(() => new MixtureOfGaussiansPrior({ numComponents: 2, dim: 1.5 })).toThrow(/dim/);
    const prior = new MixtureOfGaussiansPrior({ numComponents: 2, dim: 3, seed: 1 });
    expect(() => prior.sample(2, -1)).toThrow(ConfigError);
    const bad = tf.zeros([2, 4]);
    expect(() => prior.logProb(bad)).toThrow(ShapeError);
    expect(() => prior.logProb(bad)).toThrow(/\[\.\.\., 3\].*\[2,4\]/);
    await expectNoLeak(() => prior.logProb(bad));
    await expectNoLeak(() => prior.sample(2, -1));
    await expectNoLeak(() => prior.sample(2, 3, { seed: 1 }).dispose());
    bad.dispose();
  });
});
