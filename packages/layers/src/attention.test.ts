import { FUSED_ATTENTION_FLAG } from '@setgen/ops/internal';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  prefixMask,
  randomSet,
  testRandom,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { multiheadAttention } from './attention.js';
import { mab } from './multihead-attention-block.js';

describeBackends('multiheadAttention', () => {
  for (const attention of ['softmax', 'slot'] as const) {
    it(`${attention}: chunks of batch·heads give the same values, weights and gradients`, async () => {
      const rand = testRandom(3);
      const q = randomSet(rand, [3, 4, 6]);
      const k = randomSet(rand, [3, 5, 6]);
      const v = randomSet(rand, [3, 5, 6]);
      const queryMask = tf.tensor2d([
        [1, 1, 1, 1],
        [1, 1, 0, 0],
        [1, 0, 0, 0],
      ]);
      const keyMask = tf.tensor2d([
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
      ]);
      const run = (maxChunkElements: number) =>
        multiheadAttention(q, k, v, {
          numHeads: 3,
          attention,
          queryMask,
          keyMask,
          returnWeights: true,
          maxChunkElements,
        });
      const whole = run(1 << 24);
      const chunked = run(2 * 4 * 5); // two (batch, head) maps per chunk: 5 chunks, the last one short
      expectClose(chunked.values.dataSync(), whole.values.dataSync(), { rtol: 1e-6, atol: 1e-7 });
      expectClose(chunked.weights!.dataSync(), whole.weights!.dataSync(), { rtol: 1e-6, atol: 1e-7 });
      // an empty set (no valid key) attends to nothing: zeros, not NaN
      expect(Array.from(whole.values.dataSync().slice(2 * 4 * 6)).every((x) => x === 0)).toBe(true);
      const grad = (maxChunkElements: number) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(
            tf.square(
              multiheadAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, {
                numHeads: 3,
                attention,
                queryMask,
                keyMask,
                maxChunkElements,
              }).values,
            ),
          ),
        )([q, k, v]);
      const g1 = grad(1 << 24);
      const g2 = grad(2 * 4 * 5);
      for (const [i, g] of g1.entries())
        expectClose(g2[i].dataSync(), g.dataSync(), { rtol: 1e-5, atol: 1e-6 });
      await expectNoLeak(() => tf.dispose(Object.values(run(20)).filter((t) => t !== null)));
      tf.dispose([
        q,
        k,
        v,
        queryMask,
        keyMask,
        whole.values,
        whole.weights!,
        chunked.values,
        chunked.weights!,
        ...g1,
        ...g2,
      ]);
    });
  }

  it('softmax without a tape runs fused from 64 keys, as the unfused ops (masks, 1–4 heads)', async () => {
    const [nq, nk] = [9, 70];
    const qMask = prefixMask([9, 5, 3], nq);
    const kMask = prefixMask([70, 66, 0], nk); // the last set has no valid key
    // finite junk in the padding (multiheadAttention's callers zero it; MAB with NaN: below)
    const q = fillPadding(randomSet(11, [3, nq, 16]), qMask);
    const kv = fillPadding(randomSet(12, [3, nk, 16]), kMask);
    const plainKeys = randomSet(13, [3, nk, 16]);
    const self = fillPadding(randomSet(14, [3, nk, 16]), kMask);
    const cases = [
      [randomSet(15, [3, nq, 16]), plainKeys, null, null],
      [randomSet(15, [3, nq, 16]), kv, null, kMask],
      [q, kv, qMask, kMask],
      [self, self, kMask, kMask], // self-attention with one mask
    ] as const;
    for (const numHeads of [1, 2, 4]) {
      for (const [queries, keys, queryMask, keyMask] of cases) {
        const run = () => multiheadAttention(queries, keys, keys, { numHeads, queryMask, keyMask }).values;
        const fused = run();
        tf.env().set(FUSED_ATTENTION_FLAG, false);
        const unfused = run();
        tf.env().set(FUSED_ATTENTION_FLAG, true);
        expectClose(fused.dataSync(), unfused.dataSync(), { rtol: 1e-5, atol: 1e-6 });
        expect(Array.from(fused.dataSync()).every(Number.isFinite)).toBe(true);
        tf.dispose([fused, unfused]);
      }
    }
    // a MAB (self-attention, SAB) with NaN in the padding: the same outputs fused and unfused
    const block = mab({ units: 16, numHeads: 4, variant: 'set-transformer', seed: 3 });
    const withNaN = fillPadding(self, kMask, Number.NaN);
    const sab = () => block.apply([withNaN, withNaN], { mask: [kMask, kMask] }) as tf.Tensor;
    const fusedBlock = sab();
    tf.env().set(FUSED_ATTENTION_FLAG, false);
    const unfusedBlock = sab();
    tf.env().set(FUSED_ATTENTION_FLAG, true);
    expect(Array.from(fusedBlock.dataSync()).every(Number.isFinite)).toBe(true);
    expectClose(fusedBlock.dataSync(), unfusedBlock.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([withNaN, fusedBlock, unfusedBlock]);
    block.dispose();
    // the fused kernel ran without a tape, not below 64 keys, and not when gradients are taped
    const [a, keys] = [cases[1][0], cases[1][1]];
    const f = (x: tf.Tensor) =>
      tf.sum(multiheadAttention(x as tf.Tensor3D, keys, keys, { numHeads: 4, keyMask: kMask }).values);
    expect((await tf.profile(() => f(a))).kernelNames).toContain('SetgenFusedAttention');
    const few = tf.slice(plainKeys, [0, 0, 0], [3, 63, 16]) as tf.Tensor3D;
    const small = await tf.profile(() => multiheadAttention(a, few, few, { numHeads: 4 }).values);
    expect(small.kernelNames).not.toContain('SetgenFusedAttention');
    const backward = await tf.profile(() => tf.grad(f)(a));
    expect(backward.kernelNames).not.toContain('SetgenFusedAttention');
    // the taped path: the maps and their masked softmax (one kernel each way on wasm and cpu)
    expect(backward.kernelNames).toContain('SetgenMaskedSoftmax');
    expect(backward.kernelNames).toContain('SetgenMaskedSoftmaxGrad');
    await expectNoLeak(() =>
      multiheadAttention(q, kv, kv, { numHeads: 4, queryMask: qMask, keyMask: kMask }).values.dispose(),
    );
    tf.dispose([q, kv, plainKeys, self, few, qMask, kMask, cases[0][0], cases[1][0]]);
  });

  it('large maps (one slice at a time) equal a plain tf implementation, values and gradients', () => {
    // 2 heads of 520 × 530 maps: above the 2^18-element threshold of the slice loop
    const q = randomSet(6, [1, 520, 4]);
    const k = randomSet(7, [1, 530, 4]);
    const v = randomSet(8, [1, 530, 4]);
    const ours = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      multiheadAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, { numHeads: 2 }).values;
    const plain = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const heads = (t: tf.Tensor) => tf.split(t, 2, 2);
      const [qs, ks, vs] = [heads(a), heads(b), heads(c)];
      const outs = qs.map((qh, h) =>
        tf.matMul(tf.softmax(tf.div(tf.matMul(qh, ks[h], false, true), Math.sqrt(4))), vs[h]),
      );
      return tf.concat(outs, 2);
    };
    const loss = (f: typeof plain) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.sin(f(a, b, c)));
    const [o1, o2] = [ours(q, k, v), plain(q, k, v)];
    expectClose(o1.dataSync(), o2.dataSync(), { rtol: 1e-4, atol: 1e-6 });
    const g1 = tf.grads(loss(ours))([q, k, v]);
    const g2 = tf.grads(loss(plain))([q, k, v]);
    for (const [i, g] of g1.entries())
      expectClose(g.dataSync(), g2[i].dataSync(), { rtol: 1e-3, atol: 1e-6 });
    tf.dispose([q, k, v, o1, o2, ...g1, ...g2]);
  });

  it('masked softmax attention: values and gradients equal plain tf ops (padded keys and queries, a set without keys)', () => {
    const q = randomSet(16, [3, 5, 8]);
    const k = randomSet(17, [3, 6, 8]);
    const v = randomSet(18, [3, 6, 8]);
    const queryMask = tf.tensor2d([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
      [1, 0, 1, 0, 1],
    ]);
    const keyMask = tf.tensor2d([
      [1, 1, 0, 1, 0, 0],
      [1, 1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0, 0],
    ]);
    const ours = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      multiheadAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, {
        numHeads: 2,
        queryMask,
        keyMask,
      }).values;
    const plain = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const heads = (t: tf.Tensor) => tf.split(t, 2, 2);
      const [qs, ks, vs] = [heads(a), heads(b), heads(c)];
      const bias = tf.expandDims(tf.mul(tf.sub(1, keyMask), -1e9), 1);
      const outs = qs.map((qh, h) => {
        const logits = tf.add(tf.matMul(tf.div(qh, Math.sqrt(8)), ks[h], false, true), bias);
        const w = tf.mul(tf.mul(tf.softmax(logits), tf.expandDims(keyMask, 1)), tf.expandDims(queryMask, 2));
        return tf.matMul(w, vs[h]);
      });
      return tf.concat(outs, 2);
    };
    const loss = (f: typeof plain) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.sin(f(a, b, c)));
    const [o1, o2] = [ours(q, k, v), plain(q, k, v)];
    expectClose(o1.dataSync(), o2.dataSync(), { rtol: 1e-5, atol: 1e-6 });
    const g1 = tf.grads(loss(ours))([q, k, v]);
    const g2 = tf.grads(loss(plain))([q, k, v]);
    for (const [i, g] of g1.entries())
      expectClose(g.dataSync(), g2[i].dataSync(), { rtol: 1e-4, atol: 1e-6 });
    tf.dispose([q, k, v, queryMask, keyMask, o1, o2, ...g1, ...g2]);
  });

  it('slot attention is a weighted mean of the values over valid keys', () => {
    // one head, identical keys → every key spreads evenly over the 2 queries; each query
    // takes the mean of the valid values (up to the 1e-5 per key in the denominator)
    const q = tf.tensor3d([[[1], [1]]]);
    const k = tf.tensor3d([[[0], [0], [0]]]);
    const v = tf.tensor3d([[[1], [3], [100]]]);
    const keyMask = tf.tensor2d([[1, 1, 0]]);
    const { values } = multiheadAttention(q, k, v, { numHeads: 1, attention: 'slot', keyMask });
    expectClose(values.dataSync(), [2 / (1 + 2e-5), 2 / (1 + 2e-5)], { rtol: 1e-6 });
    tf.dispose([q, k, v, keyMask, values]);
  });
});
