// Data-parallel steps with the FMA matrix product kernel (relaxed SIMD). This file runs in the
// vitest project `relaxed-simd` (vitest.shared.ts), whose workers validate relaxed SIMD (Node 20:
// --experimental-wasm-relaxed-simd), so the FMA kernel is the one selected. Worker threads of
// the same process validate it too, and each job tells them the main thread's variant: shards
// on worker threads stay bit-identical to the same shards here, with FMA on or switched off.

import { matmulKernelVariant, setWasmFma } from '@setgen/ops/internal';
import { describeBackends } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { padded, ringSets } from '../__fixtures__/ring-sets.js';
import { tinySetVAE } from '../__fixtures__/tiny-setvae.js';
import { SetVAE } from '../setvae.js';
import { dataParallel, dataParallelForTests } from './data-parallel.js';

afterEach(() => {
  dataParallelForTests.noStealing = false;
  setWasmFma('auto');
});

describeBackends('data-parallel steps with the FMA kernel', () => {
  it('the same shards on worker threads: bit-identical steps, FMA on and off (the workers follow the main thread)', async () => {
    const batch = padded(ringSets([6, 4, 5, 3, 6, 5, 4, 6], 3));
    const run = async (workers: number) => {
      const model = new SetVAE(tinySetVAE);
      const parallel = dataParallel(model, { shards: 3, workers });
      await parallel.ready();
      dataParallelForTests.noStealing = workers > 0; // the workers' shards are theirs
      const losses = [0, 1, 2].map(() => model.trainStep(batch).losses);
      const taken = dataParallelForTests.pool(model)?.workerShards ?? 0;
      const weights = model.trainableVariables.map((v) => Array.from(v.dataSync()));
      model.dispose();
      return { losses, weights, taken };
    };
    const results: Record<
      string,
      { inline: Awaited<ReturnType<typeof run>>; threaded: Awaited<ReturnType<typeof run>> }
    > = {};
    for (const fma of [true, false]) {
      setWasmFma(fma);
      expect(matmulKernelVariant()).toBe(fma ? 'fma' : 'simd');
      const inline = await run(0);
      const threaded = await run(2);
      expect(threaded.taken).toBeGreaterThan(0);
      expect(threaded.losses).toEqual(inline.losses);
      expect(threaded.weights).toEqual(inline.weights);
      results[String(fma)] = { inline, threaded };
    }
    // the two variants are different computations (so a worker on the other one would show)
    const [fused, plain] = [results.true.inline.weights.flat(), results.false.inline.weights.flat()];
    expect(fused.some((v, k) => v !== plain[k])).toBe(true);
    tf.dispose([batch.x, batch.mask as tf.Tensor]);
  });
}, ['wasm']);
