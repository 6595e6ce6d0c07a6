import { ConfigError, ShapeError } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  finiteDifferenceGradient,
  loadFixture,
  prefixMask,
  randomSet,
  setsOneByOne,
  testRandom,
  valuesOf,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { mab } from './multihead-attention-block.js';

const mabFixture = loadFixture(import.meta.dirname, 'mab.json');
const slotFixture = loadFixture(import.meta.dirname, 'pma.json').setvae_slot_attention;

const flat = (a: unknown): number[] => (a as number[]).flat(Number.POSITIVE_INFINITY) as number[];
const t3 = (a: number[][][]) => tf.tensor3d(a);

/** Juho-lee weights in the 'set-transformer' getWeights order. */
function setTransformerWeights(w: Record<string, number[] | number[][]>, ln: boolean): tf.Tensor[] {
  const names = ['W_q', 'b_q', 'W_k', 'b_k', 'W_v', 'b_v', 'W_o', 'b_o'];
  if (ln) names.push('ln0_gamma', 'ln0_beta', 'ln1_gamma', 'ln1_beta');
  return names.map((n) => tf.tensor(w[n]));
}

/** SetVAE ResidualAttention weights in the 'setvae' getWeights order. */
function setvaeWeights(w: Record<string, number[] | number[][]>): tf.Tensor[] {
  const names = ['W_q', 'W_k', 'W_v', 'W_o', 'W_ffn1', 'b_ffn1', 'W_ffn2', 'b_ffn2'];
  names.push('ln_o1_gamma', 'ln_o1_beta', 'ln_o2_gamma', 'ln_o2_beta');
  return names.map((n) => tf.tensor(w[n]));
}

describeBackends('MultiheadAttentionBlock', () => {
  for (const c of mabFixture.cases) {
    it(`matches the set_transformer fixture ${c.name}`, () => {
      const layer = mab({
        units: c.dim_V,
        numHeads: c.num_heads,
        variant: 'set-transformer',
        layerNorm: c.ln,
      });
      const q = t3(c.Q);
      const k = t3(c.K);
      layer.apply([q, k]);
      const weights = setTransformerWeights(c.weights, c.ln);
      layer.setWeights(weights);
      const out = layer.apply([q, k]) as tf.Tensor;
      expect(out.shape).toEqual([c.Q.length, c.Q[0].length, c.dim_V]);
      expectClose(out.dataSync(), flat(c.output), { rtol: 1e-4, atol: 1e-5 });
      tf.dispose([q, k, out, ...weights]);
      layer.dispose();
    });
  }

  /** The fixture's slot-attention MAB (query I tiled, key X) → output and α ([H, B, M, N], as stored). */
  const runSlotCase = (c: any, slotDenominator: 'masked' | 'padded') => {
    const b = c.X.length;
    const layer = mab({ units: c.dim, numHeads: c.num_heads, attention: 'slot', slotDenominator });
    const inducing = tf.tile(tf.tensor3d(c.I), [b, 1, 1]) as tf.Tensor3D;
    const x = t3(c.X);
    const keyMask = c.key_mask ? tf.tensor2d(c.key_mask.map((r: boolean[]) => r.map(Number))) : null;
    layer.apply([inducing, x]);
    const weights = setvaeWeights(c.weights);
    layer.setWeights(weights);
    const [out, attention] = layer.apply([inducing, x], {
      mask: [null, keyMask],
      returnAttention: true,
    }) as tf.Tensor[];
    expect(attention.shape).toEqual([b, c.num_heads, c.num_inds, c.X[0].length]);
    const result = {
      out: Array.from(out.dataSync()),
      alpha: valuesOf(tf.transpose(attention, [1, 0, 2, 3])),
    };
    tf.dispose([inducing, x, out, attention, ...weights, ...(keyMask ? [keyMask] : [])]);
    layer.dispose();
    return result;
  };

  for (const c of slotFixture.cases) {
    it(`matches SetVAE slot attention ${c.name}`, () => {
      const { out, alpha } = runSlotCase(c, 'masked');
      if (c.key_mask) {
        // padded keys are excluded (documented fix): compare with the reference run without them
        expectClose(out, flat(c.output_if_padded_keys_dropped), { rtol: 1e-4, atol: 1e-5 });
        const b = c.X.length;
        const valid = flat(c.key_mask).map(Number);
        const theirs = flat(c.alpha);
        const n = c.X[0].length;
        const keep = (_: number, i: number) =>
          valid[(Math.floor(i / (c.num_inds * n)) % b) * n + (i % n)] === 1;
        expectClose(alpha.filter(keep), theirs.filter(keep), { rtol: 1e-4, atol: 1e-6 });
        expect(alpha.filter((_, i) => !keep(_, i)).every((v) => v === 0)).toBe(true);
      } else {
        expectClose(out, flat(c.output), { rtol: 1e-4, atol: 1e-5 });
        expectClose(alpha, flat(c.alpha), { rtol: 1e-4, atol: 1e-6 });
      }
    });

    // slotDenominator 'padded': the reference code's own numbers, padded keys counted in the
    // denominator (the fixture's `output` and `alpha`, float64 from shared/peer/make_fixtures.py)
    it(`slotDenominator 'padded' reproduces the reference code exactly, ${c.name}`, () => {
      const { out, alpha } = runSlotCase(c, 'padded');
      expectClose(out, flat(c.output), { rtol: 1e-4, atol: 1e-5 });
      // every entry of α, 1/M at the padded keys included
      expectClose(alpha, flat(c.alpha), { rtol: 1e-4, atol: 1e-6 });
      if (c.key_mask) {
        // …and the default differs there: the check can tell the two denominators apart
        const cleaner = runSlotCase(c, 'masked').out;
        expect(Math.max(...cleaner.map((v, i) => Math.abs(v - out[i])))).toBeGreaterThan(1e-3);
      }
    });
  }

  it("slotDenominator 'padded' is refused without slot attention, and round-trips through getConfig", () => {
    expect(() => mab({ units: 4, numHeads: 2, slotDenominator: 'padded' })).toThrow(
      /slotDenominator: 'padded' applies to attention 'slot', got attention 'softmax'/,
    );
    expect(() => mab({ units: 4, numHeads: 2, attention: 'slot', slotDenominator: 'all' as never })).toThrow(
      /slotDenominator: expected 'masked' \| 'padded'/,
    );
    const layer = mab({ units: 4, numHeads: 2, attention: 'slot', slotDenominator: 'padded' });
    expect(layer.getConfig()).toMatchObject({ attention: 'slot', slotDenominator: 'padded' });
    expect(mab({ units: 4, numHeads: 2 }).getConfig()).toMatchObject({ slotDenominator: 'masked' });
  });

  for (const variant of ['setvae', 'set-transformer'] as const) {
    for (const attention of ['softmax', 'slot'] as const) {
      it(`${variant}/${attention}: padding never changes a result, padded outputs are zero`, () => {
        const rand = testRandom(7);
        const layer = mab({ units: 8, numHeads: 2, variant, attention, layerNorm: true, seed: 3 });
        const q = randomSet(rand, [3, 5, 6]);
        const k = randomSet(rand, [3, 7, 4]);
        const qSizes = [5, 2, 3];
        const kSizes = [4, 7, 1];
        const qMask = prefixMask(qSizes, 5);
        const kMask = prefixMask(kSizes, 7);
        // junk in the padding must not matter
        const qj = fillPadding(q, qMask);
        const kj = fillPadding(k, kMask);
        const padded = layer.apply([qj, kj], { mask: [qMask, kMask] }) as tf.Tensor3D;
        const alone = setsOneByOne(
          q,
          qSizes,
          (qb, b) => layer.apply([qb, tf.slice(k, [b, 0, 0], [1, kSizes[b], -1])]) as tf.Tensor,
          5,
        );
        expectClose(padded.dataSync(), alone.dataSync(), { rtol: 1e-4, atol: 1e-5 });
        tf.dispose([q, k, qj, kj, qMask, kMask, padded, alone]);
        layer.dispose();
      });
    }
  }

  it('returns attention [B,H,Nq,Nk]: rows sum to 1 over valid keys, zero at padding', () => {
    const rand = testRandom(11);
    const layer = mab({ units: 8, numHeads: 4, variant: 'set-transformer' });
    const q = randomSet(rand, [2, 3, 8]);
    const k = randomSet(rand, [2, 5, 8]);
    const kMask = prefixMask([5, 2], 5);
    const qMask = prefixMask([3, 1], 3);
    const [out, att] = layer.apply([q, k], { mask: [qMask, kMask], returnAttention: true }) as tf.Tensor[];
    expect(att.shape).toEqual([2, 4, 3, 5]);
    const a = att.arraySync() as number[][][][];
    for (let h = 0; h < 4; h++) {
      for (let i = 0; i < 3; i++) {
        expect(a[0][h][i].reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
        expect(a[1][h][i].slice(2).every((v) => v === 0)).toBe(true);
        if (i >= 1) expect(a[1][h][i].every((v) => v === 0)).toBe(true);
        else expect(a[1][h][i][0] + a[1][h][i][1]).toBeCloseTo(1, 5);
      }
    }
    tf.dispose([q, k, kMask, qMask, out, att]);
    layer.dispose();
  });

  for (const variant of ['setvae', 'set-transformer'] as const) {
    for (const attention of ['softmax', 'slot'] as const) {
      it(`${variant}/${attention}: gradients match finite differences`, () => {
        const rand = testRandom(5);
        const layer = mab({ units: 4, numHeads: 2, variant, attention, layerNorm: true, seed: 1 });
        const q = randomSet(rand, [2, 3, 3]);
        const k = randomSet(rand, [2, 4, 2]);
        const kMask = prefixMask([4, 2], 4);
        const qMask = prefixMask([3, 2], 3);
        const r = randomSet(rand, [2, 3, variant === 'setvae' ? 3 : 4]);
        layer.apply([q, k]);
        const lossOf = (key: tf.Tensor) => (query: tf.Tensor) =>
          tf.sum(tf.mul(layer.apply([query, key], { mask: [qMask, kMask] }) as tf.Tensor, r)) as tf.Scalar;
        const gq = tf.grad(lossOf(k))(q);
        expectClose(gq.dataSync(), finiteDifferenceGradient(lossOf(k), q, 1e-2), { rtol: 2e-2, atol: 2e-3 });
        const lossOfKey = (key: tf.Tensor) => lossOf(key)(q);
        const gk = tf.grad(lossOfKey)(k);
        expectClose(gk.dataSync(), finiteDifferenceGradient(lossOfKey, k, 1e-2), { rtol: 2e-2, atol: 2e-3 });
        // padded keys have no influence
        expect(
          Array.from(gk.dataSync())
            .slice(4 * 2 + 2 * 2)
            .every((v) => v === 0),
        ).toBe(true);
        tf.dispose([q, k, kMask, qMask, r, gq, gk]);
        layer.dispose();
      });
    }
  }

  for (const variant of ['setvae', 'set-transformer'] as const) {
    it(`${variant}: weight gradients match finite differences (every weight, masked slot attention)`, () => {
      const layer = mab({ units: 4, numHeads: 2, variant, attention: 'slot', layerNorm: true, seed: 9 });
      const q = randomSet(21, [2, 3, 3]);
      const k = randomSet(22, [2, 4, 2]);
      const kMask = prefixMask([4, 3], 4);
      const qMask = prefixMask([3, 2], 3);
      layer.apply([q, k]);
      const original = layer.getWeights().map((w) => w.clone());
      // a random linear read-out of the output as the loss
      const r = randomSet(23, [2, 3, variant === 'setvae' ? 3 : 4]);
      const loss = () =>
        tf.sum(tf.mul(layer.apply([q, k], { mask: [qMask, kMask] }) as tf.Tensor, r)) as tf.Scalar;
      const { grads } = tf.variableGrads(
        loss,
        layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
      );
      layer.trainableWeights.forEach((w, i) => {
        const withWeight = (value: tf.Tensor) => {
          layer.setWeights(original.map((o, j) => (j === i ? value : o)));
          return loss();
        };
        // a small step: with 1e-2 one entry of Wo crosses the kink of relu(O·Wo + bo)
        const numeric = finiteDifferenceGradient(withWeight, original[i], 1e-3);
        const analytic = grads[(w as unknown as { val: tf.Variable }).val.name];
        expectClose(analytic.dataSync(), numeric, { rtol: 2e-2, atol: 2e-3 });
      });
      layer.setWeights(original);
      tf.dispose([q, k, kMask, qMask, r, ...original, ...Object.values(grads)]);
      layer.dispose();
    });
  }

  it('leaks no tensor in a call, a training step, or a throwing call', async () => {
    const rand = testRandom(2);
    const layer = mab({ units: 8, numHeads: 2, attention: 'slot' });
    const q = randomSet(rand, [2, 3, 8]);
    const k = randomSet(rand, [2, 5, 8]);
    const kMask = prefixMask([5, 3], 5);
    layer.apply([q, k]); // build
    const optimizer = tf.train.adam(1e-2);
    // warm the optimizer's slots up once: they are state, not leaks
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.mean(tf.square(layer.apply([q, k], { mask: [null, kMask] }) as tf.Tensor)) as tf.Scalar,
          layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
        );
        optimizer.applyGradients(grads as never);
        return value;
      });
    step().dispose();
    await expectNoLeak(() =>
      tf.dispose(layer.apply([q, k], { mask: [null, kMask], returnAttention: true }) as tf.Tensor[]),
    );
    await expectNoLeak(() => step().dispose());
    const otherBatch = tf.zeros([3, 5, 8]);
    const badKey = tf.zeros([2, 5, 7]);
    const badMask = tf.zeros([2, 4]);
    await expectNoLeak(() => layer.apply([q, otherBatch]));
    // a bad call throws before any tensor work
    const before = tf.memory().numTensors;
    expect(() => layer.apply([q, badKey])).toThrow(ShapeError);
    expect(() => layer.apply([q, k], { mask: [null, badMask] })).toThrow(/mask.*\[2,5\]/);
    expect(() => layer.apply([q, otherBatch])).toThrow(/batch/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([otherBatch, badKey, badMask]);
    tf.dispose([q, k, kMask]);
    optimizer.dispose();
    layer.dispose();
  });

  it('throws ConfigError for bad options and ShapeError for bad inputs', () => {
    expect(() => mab({ units: 6, numHeads: 4 })).toThrow(ConfigError);
    expect(() => mab({ units: 6, numHeads: 4 })).toThrow(/divisible/);
    expect(() => mab({ numHeads: 2 } as never)).toThrow(/units/);
    expect(() => mab({ units: 8, numHeads: 0 })).toThrow(ConfigError);
    expect(() => mab({ units: 8, numHeads: 2, variant: 'bert' as never })).toThrow(/variant/);
    expect(() => mab({ units: 8, numHeads: 2, attention: 'linear' as never })).toThrow(ConfigError);
    const layer = mab({ units: 8, numHeads: 2 });
    const x = tf.zeros([2, 3, 4]);
    expect(() => layer.apply(x)).toThrow(ShapeError);
    expect(() => layer.apply([x, tf.zeros([2, 3])])).toThrow(ShapeError);
    layer.apply([x, x]);
    expect(() => layer.apply([x, tf.zeros([1, 3, 4])])).toThrow(/batch/);
    tf.dispose(x);
    layer.dispose();
  });

  it('serialises its config and computes output shapes of both variants', () => {
    const a = mab({ units: 8, numHeads: 2, variant: 'set-transformer', attention: 'slot', seed: 4 });
    expect(a.getConfig()).toMatchObject({
      units: 8,
      numHeads: 2,
      variant: 'set-transformer',
      layerNorm: false,
      attention: 'slot',
      seed: 4,
    });
    expect(
      a.computeOutputShape([
        [null, 5, 3],
        [null, 7, 2],
      ]),
    ).toEqual([null, 5, 8]);
    const b = mab({ units: 8, numHeads: 2 });
    expect(b.getConfig()).toMatchObject({ variant: 'setvae', layerNorm: true, attention: 'softmax' });
    expect(
      b.computeOutputShape([
        [null, 5, 3],
        [null, 7, 2],
      ]),
    ).toEqual([null, 5, 3]);
    const x = tf.zeros([1, 2, 3]);
    const y = tf.zeros([1, 4, 2]);
    b.apply([x, y]);
    expect(b.getWeights().map((w) => w.shape)).toEqual([
      [3, 8],
      [2, 8],
      [2, 8],
      [8, 3],
      [3, 3],
      [3],
      [3, 3],
      [3],
      [3],
      [3],
      [3],
      [3],
    ]);
    expect(b.trainableWeights.length).toBe(12);
    a.apply([x, y]);
    expect(a.getWeights().map((w) => w.shape)).toEqual([[3, 8], [8], [2, 8], [8], [2, 8], [8], [8, 8], [8]]);
    tf.dispose([x, y]);
    a.dispose();
    b.dispose();
  });
});
