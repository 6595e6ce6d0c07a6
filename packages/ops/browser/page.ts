// The page of src/browser.test.ts: the losses of @setgen/ops — values and gradients — on
// wasm, cpu, webgl and webgpu in one Chromium page; the Node side compares them with wasm.
import { type BrowserCase, publishResults, runOnBackends } from '@setgen/testkit/browser-page';
import { randomSet } from '@setgen/testkit/sets';
import * as tf from '@tensorflow/tfjs-core';
import {
  chamferDistance,
  hungarianLoss,
  type PairCost,
  type PointReduction,
  pairwiseSquaredDistances,
  type SetBatch,
  sinkhornDistance,
} from '../src/index.js';
import {
  batchMatMul,
  fusedAttentionAvailable,
  fusedAttentionReady,
  fusedSoftmaxAttention,
  matmulKernelVariant,
  relaxedSimdAvailable,
  splitRows,
} from '../src/internal.js';

interface Pair {
  a: SetBatch;
  b: SetBatch;
}

/** Two padded batches (sizes differ per set and between a and b) with NaN in the padding. */
function paddedPair(seed: number, sizesA: number[], sizesB: number[], n: number, m: number): Pair {
  return tf.tidy(() => {
    const side = (x: tf.Tensor3D, sizes: number[], len: number): SetBatch => {
      const mask = tf.tensor2d(sizes.map((s) => Array.from({ length: len }, (_, i) => (i < s ? 1 : 0))));
      const junk = tf.fill(x.shape, Number.NaN);
      const padded = tf.where(tf.cast(tf.expandDims(mask, 2), 'bool'), x, junk) as tf.Tensor3D;
      return { x: tf.keep(padded), mask: tf.keep(mask) };
    };
    return {
      a: side(randomSet(seed, [sizesA.length, n, 3]), sizesA, n),
      b: side(randomSet(seed + 1, [sizesB.length, m, 3]), sizesB, m),
    };
  });
}

const disposePair = ({ a, b }: Pair) => tf.dispose([a.x, a.mask!, b.x, b.mask!]);

/** A loss case: the per-set values `[B]` and the gradients of their weighted sum. */
function lossCase(
  name: string,
  loss: (a: SetBatch, b: SetBatch) => tf.Tensor,
  seed: number,
): BrowserCase<Pair> {
  return {
    name,
    setup: () => paddedPair(seed, [9, 5, 1], [7, 7, 3], 9, 7),
    run: ({ a, b }) => {
      const weights = tf.tensor1d([1, -0.5, 2]);
      const f = (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(
          tf.mul(loss({ x: x as tf.Tensor3D, mask: a.mask }, { x: y as tf.Tensor3D, mask: b.mask }), weights),
        );
      const { value, grads } = tf.valueAndGrads(f)([a.x, b.x]);
      const perSet = loss(a, b);
      weights.dispose();
      value.dispose();
      // gradients of padding must be exactly 0 (NaN there never reaches them)
      return { perSet, gradA: grads[0], gradB: grads[1] };
    },
    teardown: disposePair,
  };
}

const PAIR_COSTS: PairCost[] = ['sqeuclidean', 'euclidean', 'huber'];
const POINT_REDUCTIONS: PointReduction[] = ['mean', 'sum'];

const cases: BrowserCase<any>[] = [];
for (const pairCost of PAIR_COSTS) {
  for (const pointReduction of POINT_REDUCTIONS) {
    cases.push(
      lossCase(
        `chamfer ${pairCost} ${pointReduction}`,
        (a, b) => chamferDistance(a, b, { pairCost, pointReduction, reduction: 'none' }),
        11,
      ),
    );
  }
  cases.push(
    lossCase(`hungarian ${pairCost}`, (a, b) => hungarianLoss(a, b, { pairCost, reduction: 'none' }), 21),
  );
}
// the same losses with the neighbours found on the device (argmin, no read-back)
for (const pairCost of PAIR_COSTS) {
  cases.push(
    lossCase(
      `chamfer ${pairCost} sum, neighbours on the device`,
      (a, b) =>
        chamferDistance(a, b, { pairCost, pointReduction: 'sum', reduction: 'none', neighbours: 'device' }),
      11,
    ),
  );
}
cases.push(
  lossCase(
    'sinkhorn eps 0.05',
    (a, b) => sinkhornDistance(a, b, { epsilon: 0.05, iterations: 30, reduction: 'none' }),
    31,
  ),
  {
    name: 'pairwiseSquaredDistances',
    setup: () => tf.tidy(() => [randomSet(41, [2, 6, 3]), randomSet(42, [2, 5, 3])]),
    run: ([a, b]: tf.Tensor3D[]) => ({ distances: pairwiseSquaredDistances(a, b) }),
    teardown: (inputs: tf.Tensor[]) => tf.dispose(inputs),
  },
  {
    // ours and tf.matMul side by side: the Node side also checks ours against tf.matMul per backend
    name: 'batchMatMul',
    setup: () =>
      tf.tidy(() => [randomSet(51, [3, 7, 5]), randomSet(52, [3, 6, 5]), randomSet(53, [3, 7, 6])]),
    run: ([a, b, w]: tf.Tensor3D[]) => {
      const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(f(x as tf.Tensor3D, y as tf.Tensor3D), w));
      const ours = (x: tf.Tensor3D, y: tf.Tensor3D) => batchMatMul(x, y, { transposeB: true });
      const reference = (x: tf.Tensor3D, y: tf.Tensor3D) => tf.matMul(x, y, false, true);
      const [gradA, gradB] = tf.grads(loss(ours))([a, b]);
      const [refGradA, refGradB] = tf.grads(loss(reference))([a, b]);
      const kernel = tf.getKernel('SetgenBatchMatMul', tf.getBackend()) ? 1 : 0;
      // the kernel variant that ran: FMA (relaxed SIMD, on by default in Chromium ≥ 114) or plain SIMD
      const variant = matmulKernelVariant();
      return {
        product: ours(a, b),
        gradA,
        gradB,
        refProduct: reference(a, b),
        refGradA,
        refGradB,
        'info.kernel': kernel,
        'info.fma': kernel && variant === 'fma' ? 1 : 0,
        'info.relaxedSimd': relaxedSimdAvailable() ? 1 : 0,
      };
    },
    teardown: (inputs: tf.Tensor[]) => tf.dispose(inputs),
  },
  {
    // the fused kernel where it runs (wasm, cpu; compiled in the background if the page refuses
    // synchronous compilation) beside plain tf ops: masked softmax over keys, 2 heads of 4
    name: 'fusedSoftmaxAttention',
    setup: async () => {
      await fusedAttentionReady();
      return tf.tidy(() => [
        randomSet(71, [3, 6, 8]),
        randomSet(72, [3, 9, 8]),
        randomSet(73, [3, 9, 8]),
        tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1], [3, 6]),
        tf.tensor2d(
          [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
          [3, 9],
        ),
      ]);
    },
    run: ([q, k, v, queryMask, keyMask]: tf.Tensor[]) => {
      const options = {
        numHeads: 2,
        scale: 0.25,
        queryMask: queryMask as tf.Tensor2D,
        keyMask: keyMask as tf.Tensor2D,
      };
      const reference = tf.tidy(() => {
        const heads = (t: tf.Tensor) => tf.split(t, 2, 2);
        const [qs, ks, vs] = [heads(q), heads(k), heads(v)];
        const bias = tf.expandDims(tf.mul(tf.sub(1, keyMask), -1e9), 1);
        const weights = (h: number) =>
          tf.mul(
            tf.mul(
              tf.softmax(tf.add(tf.matMul(tf.mul(qs[h], 0.25), ks[h], false, true), bias)),
              tf.expandDims(keyMask, 1),
            ),
            tf.expandDims(queryMask, 2),
          );
        return tf.concat(
          [0, 1].map((h) => tf.matMul(weights(h), vs[h])),
          2,
        );
      });
      const kernel = fusedAttentionAvailable(8, 2) ? 1 : 0;
      const [a, b, c] = [q, k, v] as tf.Tensor3D[];
      return {
        out: kernel ? fusedSoftmaxAttention(a, b, c, options) : reference.clone(),
        reference,
        'info.kernel': kernel,
      };
    },
    teardown: (inputs: tf.Tensor[]) => tf.dispose(inputs),
  },
  {
    name: 'splitRows',
    setup: () => randomSet(61, [7, 3, 4]),
    run: (x: tf.Tensor3D) => {
      const [first, empty, last] = splitRows(x, [3, 0, 4]);
      return { first, empty, last };
    },
    teardown: (x: tf.Tensor) => x.dispose(),
  },
);

publishResults(runOnBackends(cases));
