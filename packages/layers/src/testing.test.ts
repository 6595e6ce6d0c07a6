import { describeBackends, expectNoLeak, prefixMask, randomSet } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { expectPermutationEquivariant, expectPermutationInvariant } from './testing.js';

const maskedSum = (x: tf.Tensor3D, mask: tf.Tensor2D | null) =>
  tf.sum(mask ? tf.mul(x, tf.expandDims(mask, 2)) : x, 1);

describeBackends('permutation checks', () => {
  it('accept invariant and equivariant functions, with and without masks', async () => {
    expectPermutationInvariant(maskedSum);
    expectPermutationEquivariant((x) => tf.relu(x), { inputShape: [3, 4, 2], seed: 9 });
    const x = randomSet(1, [2, 5, 3]);
    const mask = prefixMask([5, 2], 5);
    expectPermutationInvariant(maskedSum, { input: x, mask, permutations: 5 });
    // subtracting the set mean is equivariant
    expectPermutationEquivariant((s) => tf.sub(s, tf.mean(s, 1, true)), { input: x });
    await expectNoLeak(() => expectPermutationInvariant(maskedSum, { input: x, mask }));
    tf.dispose([x, mask]);
  });

  it('throw a readable Error for order-dependent functions, leaking nothing', async () => {
    const first = (x: tf.Tensor3D) => tf.slice(x, [0, 0, 0], [-1, 1, -1]);
    expect(() => expectPermutationInvariant(first, { seed: 1 })).toThrow(
      /expectPermutationInvariant: output element \d+ is .* after permuting/,
    );
    const cumulative = (x: tf.Tensor3D) => tf.cumsum(x, 1);
    expect(() => expectPermutationEquivariant(cumulative)).toThrow(/expectPermutationEquivariant/);
    // a pooled output is not one row per element
    expect(() => expectPermutationEquivariant(maskedSum)).toThrow(/one row per element/);
    // with a mask too
    const x = randomSet(2, [1, 4, 2]);
    const mask = prefixMask([2], 4);
    expect(() =>
      expectPermutationInvariant((s) => tf.slice(s, [0, 0, 0], [-1, 1, -1]), { input: x, mask }),
    ).toThrow(Error);
    await expectNoLeak(() => expectPermutationInvariant(first));
    tf.dispose([x, mask]);
  });
});
