import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, chamferDistance, DataError, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, expectNoLeak, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memoryHandler } from './__fixtures__/memory-handler.js';
import { epochs, padded, ringSets } from './__fixtures__/ring-sets.js';
import { tinySetVAE as tiny } from './__fixtures__/tiny-setvae.js';
import { fileSystem, SetVAE } from './node.js';

describeBackends('SetVAE config', () => {
  it('accepts the paper presets and resolves defaults', () => {
    for (const preset of Object.values(SetVAE.presets)) {
      const config = { ...preset };
      expect(() => new SetVAE({ ...config, maxOutputs: 4 }).dispose()).not.toThrow();
    }
    const model = new SetVAE({ inputDim: 2, inducingPoints: [2, 4] });
    const c = model.getConfig();
    expect(c.hiddenDim).toBe(64);
    expect(c.outputMap).toBe('unit-interval');
    expect(c.beta).toBe(0.01);
    model.dispose();
  });

  it('matches the Set-MNIST size of the reference (533,794 parameters in the peer model)', () => {
    // peer_bench.py counts the same modules (its MoG is buffers; ours is frozen weights)
    const model = new SetVAE(SetVAE.presets.setMnist);
    expect(model.countParams()).toBe(533794);
    model.dispose();
  });

  it('rejects bad configs with a ConfigError naming the field, allocating nothing', async () => {
    await expectNoLeak(() => new SetVAE({ ...tiny, hiddenDim: 15 }));
    expect(() => new SetVAE({ ...tiny, hiddenDim: 15 })).toThrow(/config.hiddenDim.*multiple of numHeads/);
    expect(() => new SetVAE({ ...tiny, inducingPoints: [] })).toThrow(ConfigError);
    expect(() => new SetVAE({ ...tiny, inducingPoints: [2, 0] })).toThrow(/inducingPoints\[1\]/);
    expect(() => new SetVAE({ ...tiny, beta: -1 })).toThrow(/config.beta/);
    expect(() => new SetVAE({ ...tiny, freeBits: -1 })).toThrow(/config.freeBits/);
    expect(() => new SetVAE({ ...tiny, outputMap: 'sigmoid' as never })).toThrow(/config.outputMap/);
  });
}, ['cpu']);

describeBackends('SetVAE', () => {
  let model: SetVAE;
  beforeAll(() => {
    model = new SetVAE(tiny);
  });
  afterAll(() => model.dispose());

  it('samples any cardinality: prefix mask, zero padding, values in (0,1), repeatable with a seed', async () => {
    await expectNoLeak(() => {
      const a = model.sample([3, 50, 7], { seed: 11 });
      const b = model.sample([3, 50, 7], { seed: 11 });
      expect(a.x.shape).toEqual([3, 50, 2]);
      expect(a.mask.shape).toEqual([3, 50]);
      const x = a.x.arraySync();
      const m = a.mask.arraySync();
      for (let s = 0; s < 3; s++) {
        for (let i = 0; i < 50; i++) {
          expect(m[s][i]).toBe(i < [3, 50, 7][s] ? 1 : 0);
          for (const v of x[s][i]) {
            if (m[s][i] === 1) {
              expect(v).toBeGreaterThan(0);
              expect(v).toBeLessThan(1);
            } else expect(v).toBe(0);
          }
        }
      }
      expectClose(a.x.dataSync(), b.x.dataSync(), { rtol: 0, atol: 0 });
      const c = model.sample([3, 50, 7], { seed: 12 });
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a.x, c.x))).dataSync()[0])).toBeGreaterThan(1e-3);
      tf.dispose([a, b, c] as unknown as tf.TensorContainer);
    });
  });

  it('returns generator attention per level [B, H, m_l, N]', () => {
    const out = model.sample([5, 9], { seed: 1 });
    expect(out.attention.map((a) => a.inducingPoints)).toEqual([2, 4]);
    expect(out.attention[1].attention.shape).toEqual([2, 2, 4, 9]);
    tf.dispose([out.x, out.mask, ...out.attention.map((a) => a.attention)]);
  });

  it('is exchangeable: permuting the initial set permutes the output (Eq. 16)', () => {
    tf.tidy(() => {
      const rand = testRandom(3);
      const n = 9;
      const z0 = tf.tensor3d(
        Float32Array.from({ length: 2 * n * 8 }, () => rand() * 2 - 1),
        [2, n, 8],
      );
      const perm = [4, 0, 8, 2, 7, 1, 3, 6, 5];
      const permuted = tf.gather(z0, tf.tensor1d(perm, 'int32'), 1);
      const a = model.decodeInitialSet(z0, { seed: 5 });
      const b = model.decodeInitialSet(permuted, { seed: 5 });
      const aPermuted = tf.gather(a.x, tf.tensor1d(perm, 'int32'), 1);
      expectClose(b.x.dataSync(), aPermuted.dataSync(), { rtol: 1e-4, atol: 1e-5 });
    });
  });

  it('decodes a padded batch exactly as the sets one by one (temperature 0: z = prior mean)', () => {
    tf.tidy(() => {
      const rand = testRandom(4);
      const z0 = tf.tensor3d(
        Float32Array.from({ length: 2 * 6 * 8 }, () => rand() * 2 - 1),
        [2, 6, 8],
      );
      const mask = tf.tensor2d([
        [1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1],
      ]);
      const both = model.decodeInitialSet({ x: z0, mask }, { temperature: 0 });
      const first = model.decodeInitialSet(tf.slice(z0, [0, 0, 0], [1, 4, 8]), { temperature: 0 });
      const second = model.decodeInitialSet(tf.slice(z0, [1, 0, 0], [1, 6, 8]), { temperature: 0 });
      expectClose(tf.slice(both.x, [0, 0, 0], [1, 4, 2]).dataSync(), first.x.dataSync(), {
        rtol: 1e-4,
        atol: 1e-5,
      });
      expectClose(tf.slice(both.x, [1, 0, 0], [1, 6, 2]).dataSync(), second.x.dataSync(), {
        rtol: 1e-4,
        atol: 1e-5,
      });
      expectClose(tf.slice(both.x, [0, 4, 0], [1, 2, 2]).dataSync(), [0, 0, 0, 0], { atol: 0 });
    });
  });

  it('encodes permutation-invariantly, and padding does not change the encodings', () => {
    tf.tidy(() => {
      const sets = ringSets([7, 12], 5);
      const batch = padded(sets, { maxSize: 15 });
      const enc = model.encode(batch);
      expect(enc.features.map((f) => f.shape)).toEqual([
        [2, 2, 16],
        [2, 4, 16],
      ]);
      const perm = [3, 6, 0, 1, 5, 2, 4];
      const values = new Float32Array(14);
      perm.forEach((p, i) => {
        values.set(sets[0].values.subarray(2 * p, 2 * p + 2), 2 * i);
      });
      const alone = model.encode(tf.tensor3d(values, [1, 7, 2]));
      for (let l = 0; l < 2; l++) {
        const [d] = [enc.features[l].shape[2]];
        const m = enc.features[l].shape[1];
        expectClose(
          alone.features[l].dataSync(),
          tf.slice(enc.features[l], [0, 0, 0], [1, m, d]).dataSync(),
          {
            rtol: 1e-4,
            atol: 1e-5,
          },
        );
      }
      expect(enc.attention[0].shape).toEqual([2, 2, 2, 12]); // trailing all-padding columns trimmed
    });
  });

  it("slotDenominator 'padded' counts padding as the reference code does; off by default", () => {
    const reference = new SetVAE({ ...tiny, maxOutputs: 12, slotDenominator: 'padded' });
    const ours = new SetVAE({ ...tiny, maxOutputs: 12 });
    tf.tidy(() => {
      // the option changes no weight
      expect(reference.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(
        ours.trainableVariables.map((v) => Array.from(v.dataSync())),
      );
      const sets = ringSets([7, 12], 5);
      const features = (m: SetVAE, maxSize: number) =>
        m.encode(padded(sets, { maxSize })).features.flatMap((f) => Array.from(f.dataSync()));
      // ours: the padded length never matters; the reference's: every padded element shrinks
      // the projections (set 0 is padded in both layouts, more in the longer one)
      expect(features(ours, 20)).toEqual(features(ours, 12));
      const [short, long] = [features(reference, 12), features(reference, 20)];
      expect(Math.max(...short.map((v, i) => Math.abs(v - long[i])))).toBeGreaterThan(1e-3);
      // a batch with no padding at all: both denominators are one
      const full = padded(ringSets([12, 12], 6));
      expect(reference.encode(full).features[1].dataSync()).toEqual(ours.encode(full).features[1].dataSync());
      // the reference pads every drawn initial set to max_outputs; ours to the largest size
      expect(reference.sample([3, 5], { seed: 1 }).x.shape).toEqual([2, 12, 2]);
      expect(ours.sample([3, 5], { seed: 1 }).x.shape).toEqual([2, 5, 2]);
      const { x, mask } = reference.sample([12, 12], { seed: 2 });
      expect(tf.sum(mask).dataSync()[0]).toBe(24);
      expect(x.dataSync()).toEqual(ours.sample([12, 12], { seed: 2 }).x.dataSync());
    });
    expect(() => new SetVAE({ ...tiny, slotAttention: false, slotDenominator: 'padded' })).toThrow(
      /config.slotDenominator: 'padded' applies to slot attention/,
    );
    expect(() => new SetVAE({ ...tiny, slotDenominator: 'all' as never })).toThrow(
      /config.slotDenominator: expected 'masked' \| 'padded'/,
    );
    reference.dispose();
    ours.dispose();
  });

  it('loss: total = Chamfer (sum of mins, batch mean) + β·ΣKL, and reconstruct uses the same draws', () => {
    tf.tidy(() => {
      const batch = padded(ringSets([6, 10, 8], 6));
      const loss = model.loss(batch, { seed: 3, beta: 0.5 });
      const recon = model.reconstruct(batch, { seed: 3 });
      const cd = chamferDistance(recon, batch, { pointReduction: 'sum' });
      expectClose(loss.recon.dataSync()[0], cd.dataSync()[0], { rtol: 1e-5 });
      const kl = loss.kl0.dataSync()[0] + loss.kl1.dataSync()[0];
      expectClose(loss.kl.dataSync()[0], kl, { rtol: 1e-5 });
      expect(kl).toBeGreaterThan(0);
      expectClose(loss.total.dataSync()[0], cd.dataSync()[0] + 0.5 * kl, { rtol: 1e-5 });
    });
  });

  it('free bits: each level costs max(KL_l, λ); the reported KL stays the true one', () => {
    const batch = padded(ringSets([6, 10, 8], 6));
    const [kl0, kl1] = tf.tidy(() => {
      const loss = model.loss(batch, { seed: 3, beta: 0.5 });
      return [loss.kl0.dataSync()[0], loss.kl1.dataSync()[0]];
    });
    // λ between the two levels' KLs: one level is lifted to λ, the other counts as it is
    const freeBits = (kl0 + kl1) / 2;
    const free = new SetVAE({ ...tiny, freeBits }); // same seed: the same weights as `model`
    tf.tidy(() => {
      const loss = free.loss(batch, { seed: 3, beta: 0.5 });
      expectClose(loss.kl.dataSync()[0], kl0 + kl1, { rtol: 1e-5 });
      const penalty = Math.max(kl0, freeBits) + Math.max(kl1, freeBits);
      expectClose(loss.total.dataSync()[0], loss.recon.dataSync()[0] + 0.5 * penalty, { rtol: 1e-5 });
      expect(penalty).toBeGreaterThan(kl0 + kl1);
    });
    free.dispose();
  });

  it('exposes the latents: per-level prior/posterior, per-set KL, given latents, temperature 0, given initial set', () => {
    tf.tidy(() => {
      const batch = padded(ringSets([6, 9], 8));
      const rec = model.reconstruct(batch, { seed: 5, temperature: 0 });
      expect(rec.levels.map((l) => l.posteriorMu.shape)).toEqual([
        [2, 2, 4],
        [2, 4, 4],
      ]);
      for (const level of rec.levels) {
        expect(level.kl.shape).toEqual([2]);
        // temperature 0: every latent at its mean
        expectClose(level.z.dataSync(), level.posteriorMu.dataSync(), { rtol: 0, atol: 0 });
      }
      const loss = model.loss(batch, { seed: 5, temperature: 0 });
      expectClose(loss.kl1.dataSync()[0], tf.mean(rec.levels[1].kl).dataSync()[0], { rtol: 1e-6 });
      // the KL is the closed form of Eq. 20 from the returned parameters
      const { priorMu, priorLogvar, posteriorMu, posteriorLogvar } = rec.levels[1];
      const kl = tf.mul(
        tf.sum(
          tf.sub(
            tf.add(
              tf.div(tf.square(tf.sub(posteriorMu, priorMu)), tf.exp(priorLogvar)),
              tf.exp(tf.sub(posteriorLogvar, priorLogvar)),
            ),
            tf.add(tf.sub(posteriorLogvar, priorLogvar), 1),
          ),
          [1, 2],
        ),
        0.5,
      );
      expectClose(rec.levels[1].kl.dataSync(), kl.dataSync(), { rtol: 1e-4, atol: 1e-5 });
      // a given initial set sets the output sizes; temperature 0 makes the result seed-free
      const z0 = {
        x: tf.randomNormal([2, 7, 8], 0, 1, 'float32', 3) as tf.Tensor3D,
        mask: tf.tensor2d([
          [1, 1, 1, 1, 1, 1, 1],
          [1, 1, 1, 0, 0, 0, 0],
        ]),
      };
      const a = model.reconstruct(batch, { seed: 1, temperature: 0, initialSet: z0 });
      const b = model.reconstruct(batch, { seed: 2, temperature: 0, initialSet: z0 });
      expect(a.x.shape).toEqual([2, 7, 2]);
      expectClose(a.x.dataSync(), b.x.dataSync(), { rtol: 0, atol: 0 });
      expect(() => model.reconstruct(batch, { initialSet: tf.zeros([3, 7, 8]) as tf.Tensor3D })).toThrow(
        /initialSet: expected elements of dimension 8 \(x \[2,N,8\], config.initialSetDim\)/,
      );
      // given latents (the reference's given_latents) reproduce a draw exactly
      const drawn = model.decodeInitialSet(z0, { seed: 9 });
      const again = model.decodeInitialSet(z0, { seed: 10, latents: drawn.levels.map((l) => l.z) });
      expectClose(again.x.dataSync(), drawn.x.dataSync(), { rtol: 0, atol: 0 });
      const onlyTop = model.decodeInitialSet(z0, { seed: 10, latents: [drawn.levels[0].z] });
      expectClose(onlyTop.levels[0].z.dataSync(), drawn.levels[0].z.dataSync(), { rtol: 0, atol: 0 });
      expect(tf.max(tf.abs(tf.sub(onlyTop.levels[1].z, drawn.levels[1].z))).dataSync()[0]).toBeGreaterThan(
        1e-3,
      );
    });
  });

  it('sample honours the temperature: every level draws z = μ + T·σ·ε from its prior, the same ε per seed', async () => {
    await expectNoLeak(() => {
      // the prior noise ε = (z − μ_prior) / σ_prior of every level, at temperature T
      const noise = (temperature: number) =>
        tf.tidy(() => {
          const out = model.sample([5, 9], { seed: 21, temperature });
          const eps = out.levels.map((l) =>
            tf.div(tf.sub(l.z, l.priorMu), tf.exp(tf.mul(l.priorLogvar, 0.5))).dataSync(),
          );
          return { eps, x: out.x.dataSync() };
        });
      const one = noise(1);
      expect(one.eps.length).toBe(2);
      for (const temperature of [0.5, 2]) {
        const t = noise(temperature);
        // the priors of lower levels depend on the latents above, so compare the noise, not z
        t.eps.forEach((eps, l) => {
          expectClose(
            eps,
            one.eps[l].map((e) => temperature * e),
            { rtol: 1e-4, atol: 1e-5 },
          );
        });
        expect(Math.max(...t.x.map((v, i) => Math.abs(v - one.x[i])))).toBeGreaterThan(1e-4);
      }
      // temperature 0: every latent at its prior mean
      for (const eps of noise(0).eps) expectClose(eps, new Float32Array(eps.length), { rtol: 0, atol: 0 });
    });
  });

  it('bad inputs throw typed errors naming the argument, leaking nothing', async () => {
    const x3 = tf.zeros([2, 5, 3]) as tf.Tensor3D;
    await expectNoLeak(() => model.loss(x3));
    expect(() => model.loss(x3)).toThrow(ShapeError);
    expect(() => model.loss(x3)).toThrow(/batch: expected elements of dimension 2/);
    await expectNoLeak(() => model.trainStep(x3));
    expect(() => model.sample([0])).toThrow(/sizes\[0\]/);
    expect(() => model.sample([65])).toThrow(/maxOutputs/);
    expect(() => model.sample([3], { temperature: -1 })).toThrow(ConfigError);
    expect(() => model.decodeInitialSet(tf.zeros([1, 3, 2]) as tf.Tensor3D)).toThrow(/initialSetDim/);
    x3.dispose();
    await expect(model.fit([], {})).rejects.toThrow(/data: expected at least one batch/);
  });
});

describeBackends('SetVAE training', () => {
  it('learns: Chamfer on a fixed batch falls by a clear margin in 40 steps', () => {
    const model = new SetVAE(tiny);
    const batch = padded(ringSets([20, 24, 16, 22], 9));
    const recon: number[] = [];
    for (let i = 0; i < 40; i++) recon.push(model.trainStep(batch).losses.recon);
    const first = (recon[0] + recon[1] + recon[2]) / 3;
    const last = (recon[37] + recon[38] + recon[39]) / 3;
    expect(last).toBeLessThan(0.5 * first);
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('passes information through the latents: reconstructions land on their own inputs (β = 0)', () => {
    const model = new SetVAE({ ...tiny, beta: 0, seed: 3 });
    const rand = testRandom(1);
    const centers = [
      [0.2, 0.2],
      [0.8, 0.8],
      [0.2, 0.8],
      [0.8, 0.2],
    ];
    const values = new Float32Array(4 * 20 * 2);
    centers.forEach(([cx, cy], b) => {
      for (let i = 0; i < 20; i++) {
        values[(b * 20 + i) * 2] = cx + 0.05 * rand();
        values[(b * 20 + i) * 2 + 1] = cy + 0.05 * rand();
      }
    });
    const x = tf.tensor3d(values, [4, 20, 2]);
    for (let s = 0; s < 150; s++) model.trainStep(x);
    const out = model.reconstruct(x, { seed: 1 });
    const means = tf.tidy(() => tf.mean(out.x, 1).arraySync()) as number[][];
    // each reconstruction sits near its own cluster (centre + 0.025 mean jitter), far from the others (≥ 0.6)
    means.forEach(([mx, my], b) => {
      expect(Math.hypot(mx - centers[b][0] - 0.025, my - centers[b][1] - 0.025)).toBeLessThan(0.12);
    });
    tf.dispose([x, out as unknown as tf.TensorContainer]);
    model.dispose();
  });

  it('non-hierarchical (App. B.3): one latent per ABL, unconditional priors, pooled encodings; learns', () => {
    const model = new SetVAE({ ...tiny, hierarchical: false });
    expect(() => new SetVAE({ ...tiny, hierarchical: 'no' as never })).toThrow(/config.hierarchical/);
    const sets = ringSets([20, 24, 16, 22], 9);
    const batch = padded(sets);
    const out = model.sample([5, 7], { seed: 1 });
    // every generator level attends through a single inducing point
    expect(out.attention.map((a) => [a.inducingPoints, ...a.attention.shape])).toEqual([
      [1, 2, 2, 1, 7],
      [1, 2, 2, 1, 7],
    ]);
    tf.dispose(out as unknown as tf.TensorContainer);
    // padding changes nothing: the pooled encoding averages valid elements only
    const whole = model.loss(batch, { seed: 4 });
    const one = model.loss(padded([sets[0]]), { seed: 4 });
    const alone = model.loss(padded([sets[0]], { maxSize: 30 }), { seed: 4 });
    expectClose(alone.total.dataSync()[0], one.total.dataSync()[0], { atol: 1e-5 });
    expect(Object.keys(whole).filter((k) => /^kl\d+$/.test(k))).toHaveLength(2);
    tf.dispose([whole, one, alone] as unknown as tf.TensorContainer);
    const recon: number[] = [];
    for (let i = 0; i < 40; i++) recon.push(model.trainStep(batch).losses.recon);
    expect((recon[37] + recon[38] + recon[39]) / 3).toBeLessThan(
      0.5 * ((recon[0] + recon[1] + recon[2]) / 3),
    );
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('does not grow the tensor count over 100 training steps', () => {
    const model = new SetVAE(tiny);
    const batch = padded(ringSets([8, 6], 2));
    model.trainStep(batch); // optimizer moments are created by the first step
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) model.trainStep(batch);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
  });

  it('resumes exactly: save after 3 steps, load, continue = uninterrupted run', async () => {
    const batch = padded(ringSets([8, 6, 7], 12));
    const a = new SetVAE(tiny);
    for (let i = 0; i < 3; i++) a.trainStep(batch);
    const memory = memoryHandler();
    await a.save(memory.handler);
    const straight = [0, 1, 2].map(() => a.trainStep(batch).losses.total);
    const b = await SetVAE.load(memory.handler);
    expect(b.step).toBe(3);
    const resumed = [0, 1, 2].map(() => b.trainStep(batch).losses.total);
    expect(resumed).toEqual(straight); // bit for bit (Adam's β^t restored as the steps computed it)
    tf.dispose([batch.x, batch.mask]);
    a.dispose();
    b.dispose();
  });
}, ['wasm']);

describeBackends('SetVAE fit', () => {
  it('trains epochs of shuffled batches, reports progress, stops on steps and on a signal', async () => {
    const model = new SetVAE({ ...tiny, epochs: 2 });
    const data = ringSets([5, 6, 7, 8, 9, 5, 6], 21);
    expect(() => model.sampleSizes(3)).toThrow(/no training cardinalities/);
    const seen: { step: number; epoch: number; total: number }[] = [];
    const before = tf.memory().numTensors;
    const result = await model.fit(epochs(data, 7, 3), {
      onProgress: (p) => {
        seen.push({ step: p.step, epoch: p.epoch, total: p.losses.total });
        expect(p.stepsPerEpoch).toBe(3);
        expect(p.stepsPerSecond).toBeGreaterThan(0);
        expect(Object.keys(p.losses)).toEqual(['total', 'recon', 'kl', 'kl0', 'kl1']);
      },
    });
    expect(result).toEqual({ step: 6, epoch: 2, skipped: 0, stoppedBy: 'epochs' });
    // cardinalities of the training sets (each seen twice): sample(count) draws from them
    const sizes = model.sampleSizes(200, { seed: 1 });
    expect(new Set(sizes)).toEqual(new Set([5, 6, 7, 8, 9]));
    expect(sizes.filter((n) => n === 5).length).toBeGreaterThan(sizes.filter((n) => n === 9).length);
    const drawn = model.sample(3, { seed: 2 });
    expect(drawn.x.shape[0]).toBe(3);
    tf.dispose(drawn as unknown as tf.TensorContainer);
    expect(seen.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expectClose(
      seen.map((s) => s.epoch),
      [1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2],
      { rtol: 1e-9 },
    );
    const moments = tf.memory().numTensors - before;
    const stopped = await model.fit(epochs(data, 7, 3), { epochs: 4, steps: 2 });
    expect(stopped).toMatchObject({ step: 8, stoppedBy: 'steps' });
    const controller = new AbortController();
    const aborted = await model.fit(epochs(data, 7, 3), {
      epochs: 4,
      onProgress: (p) => {
        if (p.step === 9) controller.abort();
      },
      signal: controller.signal,
    });
    expect(aborted).toMatchObject({ step: 9, stoppedBy: 'signal' });
    expect(tf.memory().numTensors - before).toBe(moments);
    model.dispose();
  });
}, ['wasm']);

describeBackends('SetVAE checkpoints', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'setvae-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('save → load gives identical samples; files are model.json + one weights file, no temp files left', async () => {
    const model = new SetVAE(tiny);
    const batch = padded(ringSets([6, 5], 1));
    model.trainStep(batch);
    await model.save(join(dir, 'a'));
    const names = (await readdir(join(dir, 'a'))).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toBe('model.json');
    expect(names[1]).toMatch(/^weights-[a-z0-9]+\.bin$/);
    const loaded = await SetVAE.load(join(dir, 'a'));
    expect(loaded.getConfig()).toEqual(model.getConfig());
    expect(loaded.step).toBe(1);
    const viaUrl = await SetVAE.load(`file://${join(dir, 'a')}`);
    expect(viaUrl.step).toBe(1);
    viaUrl.dispose();
    expect(loaded.sampleSizes(20, { seed: 3 })).toEqual(model.sampleSizes(20, { seed: 3 }));
    const s1 = model.sample([5, 30], { seed: 4 });
    const s2 = loaded.sample([5, 30], { seed: 4 });
    expectClose(s2.x.dataSync(), s1.x.dataSync(), { rtol: 0, atol: 0 });
    tf.dispose([
      s1.x,
      s1.mask,
      s2.x,
      s2.mask,
      ...s1.attention.map((a) => a.attention),
      ...s2.attention.map((a) => a.attention),
    ]);
    tf.dispose([batch.x, batch.mask]);
    model.dispose();
    loaded.dispose();
  });

  it('refuses corrupted, truncated, foreign and config-mismatched checkpoints, changing nothing', async () => {
    const model = new SetVAE(tiny);
    await model.save(fileSystem(join(dir, 'b')));
    const weights = join(dir, 'b', (await readdir(join(dir, 'b'))).find((f) => f.endsWith('.bin')) as string);
    const good = await readFile(weights);
    const flipped = Buffer.from(good);
    flipped[100] ^= 0xff;
    await writeFile(weights, flipped);
    await expect(SetVAE.load(join(dir, 'b'))).rejects.toThrow(/checksum/);
    await writeFile(weights, good.subarray(0, good.length - 8));
    await expect(SetVAE.load(join(dir, 'b'))).rejects.toThrow(DataError);
    await writeFile(weights, good);
    await writeFile(join(dir, 'c.json'), '{');
    await expect(SetVAE.load(join(dir, 'missing'))).rejects.toThrow(/cannot read/);

    const other = new SetVAE({ ...tiny, latentDim: 6 });
    const before = other.sample([4], { seed: 2 });
    const tensors = tf.memory().numTensors;
    await expect(other.loadWeights(join(dir, 'b'))).rejects.toThrow(/does not match this model/);
    expect(tf.memory().numTensors).toBe(tensors);
    const after = other.sample([4], { seed: 2 });
    expectClose(after.x.dataSync(), before.x.dataSync(), { rtol: 0, atol: 0 });
    await expect(SetVAE.load({ load: async () => ({ modelTopology: { format: 'other' } }) })).rejects.toThrow(
      /format 'setgen-checkpoint'/,
    );
    // the good checkpoint still loads
    const reloaded = await SetVAE.load(join(dir, 'b'));
    reloaded.dispose();
    tf.dispose([
      before.x,
      before.mask,
      after.x,
      after.mask,
      ...before.attention.map((a) => a.attention),
      ...after.attention.map((a) => a.attention),
    ]);
    model.dispose();
    other.dispose();
  });
}, ['cpu']);
