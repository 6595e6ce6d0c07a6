import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  finiteDifferenceGradient,
  prefixMask,
  randomSet,
  saveToMemory,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { AttentiveBottleneckLayer, abl } from './attentive-bottleneck-layer.js';
import { isab } from './induced-set-attention-block.js';
import { expectPermutationEquivariant, expectPermutationInvariant } from './testing.js';

const M = 3;
const DZ = 2;
const UNITS = 8;

function build(
  args: Partial<ConstructorParameters<typeof AttentiveBottleneckLayer>[0]> = {},
  inputDim = UNITS,
) {
  const layer = abl({ units: UNITS, latentDim: DZ, numHeads: 2, numInducingPoints: M, seed: 7, ...args });
  const x = tf.zeros([1, 2, inputDim]);
  layer.apply(x);
  x.dispose();
  return layer;
}

/** Replaces the prior and posterior networks by constants: FF(·) = bias. */
function setConstantHeads(layer: AttentiveBottleneckLayer, prior: number[], posterior: number[]): void {
  const weights = layer.getWeights();
  const n = weights.length;
  // ... prior.kernel, prior.bias, posterior.kernel, posterior.bias, fc.kernel, fc.bias
  const replaced = weights.slice();
  replaced[n - 6] = tf.zerosLike(weights[n - 6]);
  replaced[n - 5] = tf.tensor1d(prior);
  replaced[n - 4] = tf.zerosLike(weights[n - 4]);
  replaced[n - 3] = tf.tensor1d(posterior);
  layer.setWeights(replaced);
  tf.dispose([replaced[n - 6], replaced[n - 5], replaced[n - 4], replaced[n - 3]]);
}

describeBackends('AttentiveBottleneckLayer', () => {
  it('KL is the closed form of KL(N(μ+Δμ, σ²Δσ²) ‖ N(μ, σ²)), summed per set (REFERENCES §13 K1, K2)', () => {
    const layer = build();
    const x = randomSet(1, [2, 4, UNITS]);
    const hEnc = randomSet(2, [2, M, UNITS]);
    // K1: μ = 0, log σ² = 0; Δμ = 1, Δ log σ² = 0 → 0.5 per coordinate
    setConstantHeads(layer, [0, 0, 0, 0], [1, 1, 0, 0]);
    let r = layer.forward(x, { hEnc, seed: 1 });
    expectClose(r.kl.dataSync(), [0.5 * M * DZ, 0.5 * M * DZ], { rtol: 1e-6 });
    expectClose(r.mu.dataSync(), new Array(2 * M * DZ).fill(1), { rtol: 1e-6 });
    tf.dispose(
      Object.values(r)
        .flat()
        .filter((t) => t !== null) as tf.Tensor[],
    );
    // K2: σ = 2 (log σ² = ln 4), Δμ = 1, Δσ = 0.5 (Δ log σ² = ln 0.25) → 0.4431472
    setConstantHeads(layer, [0, 0, Math.log(4), Math.log(4)], [1, 1, Math.log(0.25), Math.log(0.25)]);
    r = layer.forward(x, { hEnc, seed: 1 });
    expectClose(r.kl.dataSync(), [0.4431472 * M * DZ, 0.4431472 * M * DZ], { rtol: 1e-5 });
    // the posterior's σ' = σ·Δσ = 1
    expectClose(r.logvar.dataSync(), new Array(2 * M * DZ).fill(0), { atol: 1e-6 });
    expectClose(r.priorLogvar.dataSync(), new Array(2 * M * DZ).fill(Math.log(4)), { rtol: 1e-6 });
    tf.dispose(
      Object.values(r)
        .flat()
        .filter((t) => t !== null) as tf.Tensor[],
    );
    // log-variances are clamped to [-4, 3], like SetVAE
    setConstantHeads(layer, [0, 0, 10, -10], [0, 0, -10, 10]);
    r = layer.forward(x, { hEnc, seed: 1 });
    expectClose(Array.from(r.priorLogvar.dataSync()).slice(0, 2), [3, -4]);
    expectClose(Array.from(r.logvar.dataSync()).slice(0, 2), [3 - 4, -4 + 3]);
    tf.dispose(
      Object.values(r)
        .flat()
        .filter((t) => t !== null) as tf.Tensor[],
    );
    tf.dispose([x, hEnc]);
    layer.dispose();
  });

  it('z is reparameterised and seeded: same seed same z, temperature 0 gives the mean', () => {
    const layer = build();
    const x = randomSet(3, [2, 5, UNITS]);
    const run = (options: Parameters<AttentiveBottleneckLayer['forward']>[1]) => layer.forward(x, options);
    const a = run({ seed: 11 });
    const b = run({ seed: 11 });
    const c = run({ seed: 12 });
    const cold = run({ seed: 12, temperature: 0 });
    expectClose(b.z.dataSync(), a.z.dataSync(), { rtol: 0, atol: 0 });
    expect(Array.from(c.z.dataSync())).not.toEqual(Array.from(a.z.dataSync()));
    expectClose(cold.z.dataSync(), cold.mu.dataSync(), { rtol: 0, atol: 0 });
    // sampling mode: z from the prior, no KL
    expectClose(a.mu.dataSync(), a.priorMu.dataSync(), { rtol: 0, atol: 0 });
    expect(Array.from(a.kl.dataSync())).toEqual([0, 0]);
    // (z − μ)/σ is the standard normal noise: mean ≈ 0 over many draws
    const draws = tf.tidy(() => {
      const many = layer.forward(tf.tile(x, [40, 1, 1]) as tf.Tensor3D, { seed: 5, returnAttention: false });
      return tf.div(tf.sub(many.z, many.mu), tf.exp(tf.mul(many.logvar, 0.5)));
    });
    const { mean, variance } = tf.moments(draws);
    expect(Math.abs(mean.dataSync()[0])).toBeLessThan(0.15);
    expect(Math.abs(variance.dataSync()[0] - 1)).toBeLessThan(0.2);
    tf.dispose(
      [a, b, c, cold].flatMap(
        (r) =>
          Object.values(r)
            .flat()
            .filter((t) => t !== null) as tf.Tensor[],
      ),
    );
    tf.dispose([x, draws, mean, variance]);
    layer.dispose();
  });

  it('is wired as Eq. 17–20: h = MAB0(I, x), out = MAB1(x, FC(z))', () => {
    const layer = build({ attention: 'slot' });
    const x = randomSet(4, [2, 5, UNITS]);
    const mask = prefixMask([5, 3], 5);
    const hEnc = randomSet(5, [2, M, UNITS]);
    const r = layer.forward(x, { mask, hEnc, seed: 3 });
    const weights = layer.getWeights();
    const n = weights.length;
    const expected = tf.tidy(() => {
      const inducing = tf.tile(tf.expandDims(weights[0], 0), [2, 1, 1]) as tf.Tensor3D;
      const h = layer.mab0.attend(inducing, x, { keyMask: mask }).out;
      const fcz = tf.add(tf.matMul(tf.reshape(r.z, [2 * M, DZ]), weights[n - 2]), weights[n - 1]);
      const out = layer.mab1.attend(x, tf.reshape(fcz, [2, M, UNITS]) as tf.Tensor3D, {
        queryMask: mask,
      }).out;
      return [h, out];
    });
    expectClose(r.h.dataSync(), expected[0].dataSync(), { rtol: 1e-5, atol: 1e-6 });
    expectClose(r.out.dataSync(), expected[1].dataSync(), { rtol: 1e-5, atol: 1e-6 });
    expect(r.attention![0].shape).toEqual([2, 2, M, 5]);
    expect(r.attention![1].shape).toEqual([2, 2, 5, M]);
    tf.dispose([
      x,
      mask,
      hEnc,
      ...expected,
      ...(Object.values(r)
        .flat()
        .filter((t) => t !== null) as tf.Tensor[]),
    ]);
    layer.dispose();
  });

  for (const conditionalPrior of [true, false]) {
    it(`conditionalPrior=${conditionalPrior}: padding never changes a result; out equivariant, h and kl invariant`, () => {
      const layer = build({ conditionalPrior });
      const x = randomSet(6, [3, 6, UNITS]);
      const sizes = [6, 2, 4];
      const mask = prefixMask(sizes, 6);
      const hEnc = randomSet(7, [3, M, UNITS]);
      const z = randomSet(8, [3, M, DZ]);
      const padded = layer.forward(fillPadding(x, mask), { mask, hEnc, z });
      for (const [b, n] of sizes.entries()) {
        const one = tf.tidy(() => {
          const slice = (t: tf.Tensor3D, rows: number) => tf.slice(t, [b, 0, 0], [1, rows, -1]);
          const r = layer.forward(slice(x, n), { hEnc: slice(hEnc, M), z: slice(z, M) });
          return [r.out, r.h, r.kl];
        });
        const rows = tf.tidy(() => [
          tf.slice(padded.out, [b, 0, 0], [1, n, -1]),
          tf.slice(padded.out, [b, n, 0], [1, 6 - n, -1]),
          tf.slice(padded.h, [b, 0, 0], [1, M, -1]),
          tf.slice(padded.kl, [b], [1]),
        ]);
        expectClose(rows[0].dataSync(), one[0].dataSync(), { rtol: 1e-4, atol: 1e-5 });
        expect(Array.from(rows[1].dataSync()).every((v) => v === 0)).toBe(true);
        expectClose(rows[2].dataSync(), one[1].dataSync(), { rtol: 1e-4, atol: 1e-5 });
        expectClose(rows[3].dataSync(), one[2].dataSync(), { rtol: 1e-4, atol: 1e-5 });
        tf.dispose([...one, ...rows]);
      }
      const options = { mask, hEnc, z, returnAttention: false };
      expectPermutationEquivariant((s, m) => layer.forward(s, { ...options, mask: m }).out, {
        input: x,
        mask,
        seed: 1,
      });
      expectPermutationInvariant((s, m) => layer.forward(s, { ...options, mask: m }).h, {
        input: x,
        mask,
        seed: 2,
      });
      if (!conditionalPrior) {
        // a learned prior: the same for every set
        const r = layer.forward(x, { mask, seed: 1 });
        const priorMu = r.priorMu.arraySync() as number[][][];
        expect(priorMu[1]).toEqual(priorMu[0]);
        tf.dispose(
          Object.values(r)
            .flat()
            .filter((t) => t !== null) as tf.Tensor[],
        );
      }
      tf.dispose([
        x,
        mask,
        hEnc,
        z,
        ...(Object.values(padded)
          .flat()
          .filter((t) => t !== null) as tf.Tensor[]),
      ]);
      layer.dispose();
    });
  }

  it('gradients of out and KL match finite differences (fixed noise)', () => {
    const layer = abl({ units: 4, latentDim: 2, numHeads: 2, numInducingPoints: 2, seed: 1 });
    const x = randomSet(9, [2, 3, 4]);
    const mask = prefixMask([3, 2], 3);
    const hEnc = randomSet(10, [2, 2, 4]);
    const r = randomSet(11, [2, 3, 4]);
    layer.apply(x);
    const loss = (input: tf.Tensor) => {
      const result = layer.forward(input as tf.Tensor3D, { mask, hEnc, seed: 4, returnAttention: false });
      return tf.add(tf.sum(tf.mul(result.out, r)), tf.mul(tf.sum(result.kl), 0.1)) as tf.Scalar;
    };
    const g = tf.grad(loss)(x);
    expectClose(g.dataSync(), finiteDifferenceGradient(loss, x, 1e-2), { rtol: 3e-2, atol: 3e-3 });
    tf.dispose([x, mask, hEnc, r, g]);
    layer.dispose();
  });

  it('weights in the documented order; training step, calls and failed calls leak nothing', async () => {
    const cond = build();
    const shapes = cond.getWeights().map((w) => w.shape);
    expect(shapes.length).toBe(1 + 12 + 12 + 6);
    expect(shapes[0]).toEqual([M, UNITS]);
    expect(shapes.slice(25)).toEqual([
      [UNITS, 2 * DZ],
      [2 * DZ],
      [UNITS, 2 * DZ],
      [2 * DZ],
      [DZ, UNITS],
      [UNITS],
    ]);
    const top = build({ conditionalPrior: false });
    expect(
      top
        .getWeights()
        .map((w) => w.shape)
        .slice(25),
    ).toEqual([[M, 2 * DZ], [UNITS, 2 * DZ], [2 * DZ], [DZ, UNITS], [UNITS]]);
    expect(new Set(cond.weights.map((w) => w.originalName)).size).toBe(31);

    const x = randomSet(12, [2, 4, UNITS]);
    const hEnc = randomSet(13, [2, M, UNITS]);
    const mask = prefixMask([4, 1], 4);
    const optimizer = tf.train.adam(1e-3);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => {
            const r = cond.forward(x, { mask, hEnc, seed: 2, returnAttention: false });
            return tf.add(tf.mean(tf.square(r.out)), tf.mean(r.kl)) as tf.Scalar;
          },
          cond.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
        );
        expect(Object.keys(grads).length).toBe(31);
        optimizer.applyGradients(grads as never);
        return value;
      });
    step().dispose(); // creates the optimizer's slots
    await expectNoLeak(() => step().dispose());
    await expectNoLeak(() => tf.dispose(cond.apply([x, hEnc], { mask: [mask, null], seed: 1 }) as tf.Tensor));
    // apply(x | [x, hEnc]) is forward(...).out
    const viaApply = tf.tidy(() => [
      cond.apply([x, hEnc], { mask, seed: 3 }) as tf.Tensor,
      cond.forward(x, { mask, hEnc, seed: 3 }).out,
      cond.apply(x, { mask, seed: 3, temperature: 0 }) as tf.Tensor,
      cond.forward(x, { mask, temperature: 0 }).out,
    ]);
    expectClose(viaApply[0].dataSync(), viaApply[1].dataSync(), { rtol: 0, atol: 0 });
    expectClose(viaApply[2].dataSync(), viaApply[3].dataSync(), { rtol: 0, atol: 0 });
    tf.dispose(viaApply);
    await expectNoLeak(() =>
      tf.dispose(
        Object.values(cond.forward(x, { mask }))
          .flat()
          .filter((t) => t !== null) as tf.Tensor[],
      ),
    );
    const badHEnc = tf.zeros([2, M + 1, UNITS]) as tf.Tensor3D;
    const badX = tf.zeros([2, 4, UNITS + 1]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    expect(() => cond.forward(x, { hEnc: badHEnc })).toThrow(ShapeError);
    expect(() => cond.forward(x, { hEnc: badHEnc })).toThrow(/hEnc: expected shape \[2,3,8\]/);
    expect(() => cond.forward(badX)).toThrow(ShapeError);
    expect(() => cond.forward(x, { temperature: -1 })).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, hEnc, mask, badHEnc, badX]);
    optimizer.dispose();
    cond.dispose();
    top.dispose();
  });

  it('ISAB → ABL (learned prior) in a LayersModel saves and loads through tf.io with equal outputs', async () => {
    const input = tfl.input({ shape: [null, UNITS] });
    const encoded = isab({ units: UNITS, numHeads: 2, numInducingPoints: 2, attention: 'slot' }).apply(input);
    // predict() passes no call kwargs: the noise comes from the layer's own seeded stream,
    // which the loaded copy restarts from the same seed
    const decoded = abl({
      units: UNITS,
      latentDim: DZ,
      numHeads: 2,
      numInducingPoints: M,
      conditionalPrior: false,
      seed: 5,
    }).apply(encoded) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: decoded });
    const artifacts = await saveToMemory(model);
    expect((artifacts.weightSpecs ?? []).length).toBe(25 + 30);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const x = randomSet(14, [2, 6, UNITS]);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expectClose(b.dataSync(), a.dataSync(), { rtol: 1e-6, atol: 1e-7 });
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('config: defaults, round trip, and ConfigError for bad options', () => {
    const layer = build();
    const config = layer.getConfig();
    expect(config).toMatchObject({
      units: UNITS,
      latentDim: DZ,
      numHeads: 2,
      numInducingPoints: M,
      conditionalPrior: true,
      attention: 'slot',
      variant: 'setvae',
      layerNorm: true,
    });
    const copy = new AttentiveBottleneckLayer(config as never);
    expect(copy.getConfig()).toMatchObject({ ...config, name: copy.name });
    expect(layer.computeOutputShape([null, 5, UNITS])).toEqual([null, 5, UNITS]);
    expect(() => abl({ units: 8, latentDim: 0, numHeads: 2, numInducingPoints: 2 })).toThrow(ConfigError);
    expect(() => abl({ units: 8, latentDim: 2, numHeads: 3, numInducingPoints: 2 })).toThrow(/divisible/);
    expect(() => abl({ units: 8, latentDim: 2, numHeads: 2 } as never)).toThrow(/numInducingPoints/);
    expect(() =>
      abl({ units: 8, latentDim: 2, numHeads: 2, numInducingPoints: 2, conditionalPrior: 1 as never }),
    ).toThrow(ConfigError);
    layer.dispose();
  });
});
