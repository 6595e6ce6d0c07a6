import { ConfigError, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, finiteDifferenceGradient } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { MixtureOfGaussiansPrior, mixtureOfGaussiansPrior } from './mixture-of-gaussians-prior.js';
import { sphereLattice } from './sphere-lattice.js';

/** jw9730/setvae models/fiblat `sphere_lattice(dim, k)` and InitialSet.get_mixture_parameters σ, in float64. */
const SPHERE_LATTICE_CASES: { dim: number; k: number; sigma: number; points: number[][] }[] = [
  {
    dim: 3,
    k: 4,
    sigma: 0.1716367,
    points: [
      [0.0, 1.198e-5, 1.0],
      [0.98517143, 0.0, 0.17157288],
      [0.0, -0.75401757, -0.65685425],
      [-0.85735916, -0.0, 0.51471863],
    ],
  },
  {
    dim: 5,
    k: 6,
    sigma: 0.23389351,
    points: [
      [0.0, 0.0, 2.35e-6, 0.00306796, 0.99999529],
      [0.73575234, 0.42478681, 0.14795779, -0.34708044, 0.3686032],
      [0.65150775, -0.37614817, -0.65535483, 0.05638001, 0.03716918],
      [0.0, -0.71218372, 0.42756203, 0.47807989, -0.28535009],
      [-0.3806145, -0.21974788, -0.14520353, -0.52616882, -0.71337633],
      [-0.38251709, 0.22084635, 0.73736136, -0.22619994, 0.45830054],
    ],
  },
  {
    dim: 32,
    k: 4,
    sigma: 0.73349987,
    points: [
      [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2e-8, 1e-7, 4.9e-7,
        2.51e-6, 1.289e-5, 6.606e-5, 0.00016262, 0.00042494, 0.00111043, 0.00290171, 0.00758252, 0.01981408,
        0.0517767, 0.13529902, 0.35355339, 0.92387953,
      ],
      [
        0.50658971, 0.0, 0.08822531, -0.20695955, 0.21979329, -0.10557778, 0.12421761, -0.06500034,
        0.27496464, 0.08450187, -0.18692468, 0.06405738, -0.03588489, 0.29086579, 0.05148912, -0.02931026,
        -0.21208439, 0.11551463, -0.09143372, -0.1682364, 0.17040653, 0.03494039, -0.02026539, -0.22178274,
        0.22549274, 0.03047983, -0.18737708, 0.30409496, 0.19560258, 0.07490364, 0.02759536, -0.06010055,
      ],
      [
        0.0, -0.43137399, -0.37578679, 0.03232884, 0.02131317, 0.15040519, -0.08633421, 0.1929992, 0.16006183,
        -0.12951093, -0.04984259, -0.1535344, 0.22701513, 0.20118888, -0.17784162, 0.24792101, -0.11461929,
        -0.03037341, 0.06872583, -0.0583805, 0.06132707, -0.19248079, 0.2516401, -0.14204093, 0.14247182,
        -0.20646825, -0.09528995, 0.23583976, 0.09752551, -0.08896929, -0.2129045, 0.11592753,
      ],
      [
        -0.24771095, -0.0, 0.14871415, 0.16628522, -0.09925015, -0.28587826, -0.35683242, -0.20953485,
        0.0746952, 0.32016917, 0.06448308, 0.22327241, -0.11592421, 0.14380696, 0.16813464, -0.09095317,
        -0.03337258, -0.19397303, 0.34291953, 0.03544033, -0.0279136, 0.11394723, -0.06421927, -0.07939048,
        0.08007502, 0.09369796, -0.02077314, 0.18264995, 0.02339769, 0.32671866, 0.08338431, -0.21976348,
      ],
    ],
  },
];

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

  it('a single component (the unimodal initial set of SetVAE App. B.3) samples N(μ, σ²) and trains', () => {
    const prior = new MixtureOfGaussiansPrior({ numComponents: 1, dim: 2, seed: 5, trainable: true });
    setMixture(prior, [0], [[3, -2]], [[Math.log(0.5), Math.log(2)]]);
    const x = prior.sample(20, 100, { seed: 4 });
    const v = x.dataSync();
    for (const [d, [mean, sd]] of [
      [3, 0.5],
      [-2, 2],
    ].entries()) {
      const column = Array.from({ length: v.length / 2 }, (_, i) => v[2 * i + d]);
      const m = column.reduce((s, c) => s + c, 0) / column.length;
      expect(m).toBeCloseTo(mean, 1);
      expect(Math.sqrt(column.reduce((s, c) => s + (c - m) ** 2, 0) / column.length)).toBeCloseTo(sd, 1);
    }
    x.dispose();
    // the reparameterised draw carries gradients to the mean
    const { grads, value } = tf.variableGrads(() => tf.sum(prior.sample(2, 3, { seed: 1 })) as tf.Scalar);
    expect(Object.keys(grads).length).toBeGreaterThan(0);
    expect(Math.max(...Object.values(grads).map((g) => tf.max(tf.abs(g)).dataSync()[0]))).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
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

  it("'sphere-lattice' starts from SetVAE's fixed_gmm: Fibonacci-lattice means, σ = sqrt(D)·d_min/10 + 1e-3", () => {
    for (const c of SPHERE_LATTICE_CASES) {
      const prior = new MixtureOfGaussiansPrior({
        numComponents: c.k,
        dim: c.dim,
        initialization: 'sphere-lattice',
      });
      const [logits, means, logStd] = prior.getWeights();
      expect(Array.from(logits.dataSync())).toEqual(new Array(c.k).fill(1));
      expectClose(means.dataSync(), c.points.flat(), { rtol: 1e-5, atol: 1e-6 });
      expectClose(Array.from(logStd.dataSync()).map(Math.exp), new Array(c.k * c.dim).fill(c.sigma), {
        rtol: 1e-5,
      });
      prior.dispose();
    }
    const lattice = sphereLattice(6, 20);
    for (let i = 0; i < 20; i++)
      expectClose(Math.hypot(...lattice.slice(i * 6, i * 6 + 6)), 1, { rtol: 1e-9 });
    expect(
      () => new MixtureOfGaussiansPrior({ numComponents: 1, dim: 3, initialization: 'sphere-lattice' }),
    ).toThrow(ConfigError);
    expect(
      () => new MixtureOfGaussiansPrior({ numComponents: 2, dim: 3, initialization: 'grid' as any }),
    ).toThrow(/initialization/);
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
