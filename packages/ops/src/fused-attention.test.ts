import { readFileSync } from 'node:fs';
import { describeBackends, expectClose, expectNoLeak, randomTensor, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { assembleAttentionAll, attentionModuleSource } from '../wasm/build.mjs';
import { DataError, ShapeError } from './errors.js';
import {
  FUSED_ATTENTION_FLAG,
  fusedAttentionAvailable,
  fusedAttentionReady,
  fusedSoftmaxAttention,
} from './fused-attention.js';

/**
 * The definition in float64 on the host: per batch element and head, softmax over the valid
 * keys (mask > 0.5) of scale·q·kᵀ, times v; zeros at padded queries and for a set without a
 * valid key. Padded keys are never read.
 */
function reference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  [batch, nq, nk, units]: number[],
  heads: number,
  scale: number,
  qMask: ArrayLike<number> | null,
  kMask: ArrayLike<number> | null,
): Float64Array {
  const d = units / heads;
  const out = new Float64Array(batch * nq * units);
  const valid = (mask: ArrayLike<number> | null, i: number) => !mask || mask[i] > 0.5;
  for (let b = 0; b < batch; b++) {
    const keys = Array.from({ length: nk }, (_, j) => j).filter((j) => valid(kMask, b * nk + j));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < nq; i++) {
        if (!valid(qMask, b * nq + i) || keys.length === 0) continue;
        const at = (b * nq + i) * units + h * d;
        const s = keys.map((j) => {
          let dot = 0;
          for (let p = 0; p < d; p++)
            dot += Math.fround(q[at + p] * scale) * k[(b * nk + j) * units + h * d + p];
          return dot;
        });
        const max = Math.max(...s);
        const w = s.map((x) => Math.exp(x - max));
        const sum = w.reduce((x, y) => x + y, 0);
        keys.forEach((j, n) => {
          for (let p = 0; p < d; p++) out[at + p] += (w[n] / sum) * v[(b * nk + j) * units + h * d + p];
        });
      }
    }
  }
  return out;
}

interface Case {
  batch: number;
  nq: number;
  nk: number;
  units: number;
  heads: number;
}

/**
 * Every path of the kernel: query blocks of four and a last partial block (nq mod 4 = 1, 2, 3),
 * key groups of 8 with unused columns, several key blocks of 256 (257, 600), features in
 * chunks of 8 and of 4 (d = 4, 12, 16), one to four heads.
 */
const CASES: Case[] = [
  { batch: 2, nq: 1, nk: 1, units: 4, heads: 1 },
  { batch: 2, nq: 5, nk: 7, units: 16, heads: 2 },
  { batch: 3, nq: 8, nk: 9, units: 24, heads: 2 },
  { batch: 2, nq: 11, nk: 257, units: 16, heads: 1 },
  { batch: 2, nq: 6, nk: 600, units: 64, heads: 4 },
  { batch: 1, nq: 3, nk: 256, units: 48, heads: 4 },
];

/** A mask `[batch, n]` with about a third padded, set 1 fully padded when `emptySet`, odd values (0.3, NaN, 2). */
function randomMask(seed: number, batch: number, n: number, emptySet: boolean): number[] {
  const rand = testRandom(seed);
  const odd = [0.3, Number.NaN, 2, -1, 0.5];
  return Array.from({ length: batch * n }, (_, i) => {
    if (emptySet && Math.floor(i / n) === 1) return 0;
    if (i % n === 0) return 1; // one valid element per set otherwise
    const r = rand();
    return r < 0.1 ? odd[i % odd.length] : r < 0.4 ? 0 : 1;
  });
}

/** `x` with NaN in the rows its mask pads. */
function nanInPadding(x: tf.Tensor3D, mask: number[]): tf.Tensor3D {
  const values = x.dataSync().slice();
  const width = x.shape[2];
  mask.forEach((m, i) => {
    if (!(m > 0.5)) values.fill(Number.NaN, i * width, (i + 1) * width);
  });
  return tf.tensor3d(values, x.shape);
}

describeBackends('fusedSoftmaxAttention', (backend) => {
  afterEach(() => tf.env().set(FUSED_ATTENTION_FLAG, true));

  it('is available on the wasm and cpu backends for heads of 4k features, unless switched off', async () => {
    expect(backend === 'wasm' || backend === 'cpu').toBe(true);
    expect(await fusedAttentionReady()).toBe(true);
    expect(fusedAttentionAvailable(64, 4)).toBe(true);
    expect(fusedAttentionAvailable(12, 1)).toBe(true);
    expect(fusedAttentionAvailable(6, 3)).toBe(false); // d = 2
    expect(fusedAttentionAvailable(10, 4)).toBe(false); // not a whole number of features
    tf.env().set(FUSED_ATTENTION_FLAG, false);
    expect(fusedAttentionAvailable(64, 4)).toBe(false);
  });

  for (const masked of ['none', 'keys', 'queries', 'both'] as const) {
    it(`matches the float64 definition on every shape path (masks: ${masked}, NaN in padding)`, () => {
      CASES.forEach(({ batch, nq, nk, units, heads }, c) => {
        const qMask = masked === 'keys' || masked === 'none' ? null : randomMask(10 + c, batch, nq, false);
        const kMask =
          masked === 'queries' || masked === 'none' ? null : randomMask(20 + c, batch, nk, batch > 1);
        let q = randomTensor(30 + c, [batch, nq, units], 2) as tf.Tensor3D;
        let k = randomTensor(40 + c, [batch, nk, units], 2) as tf.Tensor3D;
        let v = randomTensor(50 + c, [batch, nk, units]) as tf.Tensor3D;
        if (qMask) q = nanInPadding(q, qMask);
        if (kMask) [k, v] = [nanInPadding(k, kMask), nanInPadding(v, kMask)];
        const scale = 1 / Math.sqrt(units);
        const queryMask = qMask ? tf.tensor2d(qMask, [batch, nq]) : null;
        const keyMask = kMask ? tf.tensor2d(kMask, [batch, nk]) : null;
        const out = fusedSoftmaxAttention(q, k, v, { numHeads: heads, scale, queryMask, keyMask });
        expect(out.shape).toEqual([batch, nq, units]);
        const want = reference(
          q.dataSync() as Float32Array,
          k.dataSync() as Float32Array,
          v.dataSync() as Float32Array,
          [batch, nq, nk, units],
          heads,
          scale,
          qMask,
          kMask,
        );
        const got = out.dataSync();
        expectClose(got, want, { rtol: 1e-5, atol: 1e-6 });
        // padded queries and a set without a valid key: exact zeros
        for (let i = 0; i < batch * nq; i++) {
          const empty = (qMask && !(qMask[i] > 0.5)) || (kMask && batch > 1 && Math.floor(i / nq) === 1);
          if (empty)
            expect(Array.from(got.slice(i * units, (i + 1) * units)).every((x) => x === 0)).toBe(true);
        }
        tf.dispose([q, k, v, out, ...[queryMask, keyMask].filter((t) => t !== null)]);
      });
    });
  }

  it('copies the operands in chunks of batch elements with the same result (cpu, or a refused import)', () => {
    const q = randomTensor(61, [5, 9, 16]) as tf.Tensor3D;
    const k = randomTensor(62, [5, 13, 16]) as tf.Tensor3D;
    const v = randomTensor(63, [5, 13, 16]) as tf.Tensor3D;
    const keyMask = tf.tensor2d(randomMask(64, 5, 13, true), [5, 13]);
    const run = (chunkBytes?: number) =>
      fusedSoftmaxAttention(q, k, v, { numHeads: 2, scale: 0.3, keyMask, chunkBytes });
    const whole = run();
    for (const chunkBytes of [1, 2 * 4 * (9 * 16 * 2 + 13 * 16 * 2 + 9 + 13)]) {
      const chunked = run(chunkBytes);
      expect(Array.from(chunked.dataSync())).toEqual(Array.from(whole.dataSync()));
      chunked.dispose();
    }
    tf.dispose([q, k, v, keyMask, whole]);
  });

  it('computes in place on the tfjs-wasm heap, bit for bit as the copying kernel on cpu', async () => {
    if (backend !== 'wasm') return;
    const results: number[][] = [];
    for (const name of ['wasm', 'cpu']) {
      await tf.setBackend(name);
      const q = randomTensor(71, [2, 7, 32]) as tf.Tensor3D;
      const k = randomTensor(72, [2, 300, 32]) as tf.Tensor3D;
      const queryMask = tf.tensor2d(randomMask(73, 2, 7, false), [2, 7]);
      const keyMask = tf.tensor2d(randomMask(74, 2, 300, false), [2, 300]);
      const out = fusedSoftmaxAttention(q, k, k, { numHeads: 4, scale: 0.5, queryMask, keyMask });
      results.push(Array.from(out.dataSync()));
      tf.dispose([q, k, queryMask, keyMask, out]);
    }
    await tf.setBackend('wasm');
    expect(results[0]).toEqual(results[1]);
  });

  it('takes masks of any dtype (cast to float32, freed again) and leaks no tensors', async () => {
    const q = randomTensor(81, [2, 4, 8]) as tf.Tensor3D;
    const keyMask = tf.tensor2d([1, 1, 0, 1, 0, 1, 1, 0], [2, 4], 'int32');
    const asFloat = tf.cast(keyMask, 'float32') as tf.Tensor2D;
    const a = fusedSoftmaxAttention(q, q, q, { numHeads: 2, scale: 1, keyMask });
    const b = fusedSoftmaxAttention(q, q, q, { numHeads: 2, scale: 1, keyMask: asFloat });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    await expectNoLeak(() =>
      fusedSoftmaxAttention(q, q, q, { numHeads: 2, scale: 1, keyMask, queryMask: keyMask }).dispose(),
    );
    tf.dispose([q, keyMask, asFloat, a, b]);
  });

  it('gives zeros for sets without keys and an empty result for no queries', () => {
    const q = randomTensor(95, [2, 3, 8]) as tf.Tensor3D;
    const none = tf.zeros([2, 0, 8]) as tf.Tensor3D;
    const noKeys = fusedSoftmaxAttention(q, none, none, { numHeads: 2, scale: 1 });
    expect(noKeys.shape).toEqual([2, 3, 8]);
    expect(Array.from(noKeys.dataSync()).every((x) => x === 0)).toBe(true);
    const noQueries = fusedSoftmaxAttention(none, q, q, { numHeads: 2, scale: 1 });
    expect(noQueries.shape).toEqual([2, 0, 8]);
    tf.dispose([q, none, noKeys, noQueries]);
  });

  it('names operands whose shapes do not fit, before any tensor work', () => {
    const q = randomTensor(91, [2, 4, 8]) as tf.Tensor3D;
    const k = randomTensor(92, [2, 5, 8]) as tf.Tensor3D;
    const wrongMask = tf.ones([2, 4]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    expect(() => fusedSoftmaxAttention(q, k, q, { numHeads: 2, scale: 1 })).toThrow(ShapeError);
    expect(() => fusedSoftmaxAttention(q, k, k, { numHeads: 2, scale: 1, keyMask: wrongMask })).toThrow(
      /keyMask must be \[2, 5\]/,
    );
    expect(tf.memory().numTensors).toBe(before);
    // a mask to cast beside a wrong one, and integer operands: typed errors, nothing left behind
    const intMask = tf.ones([2, 4], 'int32') as tf.Tensor2D;
    const ints = tf.ones([2, 4, 8], 'int32') as tf.Tensor3D;
    const withInts = tf.memory().numTensors;
    expect(() =>
      fusedSoftmaxAttention(q, k, k, { numHeads: 2, scale: 1, queryMask: intMask, keyMask: wrongMask }),
    ).toThrow(/keyMask must be \[2, 5\]/);
    expect(() => fusedSoftmaxAttention(ints, ints, ints, { numHeads: 2, scale: 1 })).toThrow(DataError);
    expect(tf.memory().numTensors).toBe(withInts);
    tf.dispose([q, k, wrongMask, intMask, ints]);
  });
});

it('the committed attention kernels (plain and FMA) are the ones the WebAssembly source assembles to', async () => {
  const committed = readFileSync(new URL('./fused-attention-wasm.ts', import.meta.url), 'utf8');
  expect(committed).toBe(attentionModuleSource(...(await assembleAttentionAll())));
});
