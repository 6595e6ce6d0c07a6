import { describeBackends, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, expect, it, vi } from 'vitest';
import { simdBatchMatMul } from './batch-matmul-kernel.js';
import { ConfigError } from './errors.js';
import {
  autoMatmulThreads,
  getMatmulThreads,
  matmulThreadsForTests as hooks,
  onOneMatmulThread,
  setMatmulThreads,
} from './matmul-threads.js';

/** [shape of a, shape of b, transposeA, transposeB, innerBlock]: each way a product is split. */
const CASES: [number[], number[], boolean, boolean, number][] = [
  [[6, 37, 19], [6, 19, 13], false, false, 512], // batch slices
  [[5, 19, 37], [5, 13, 19], true, true, 512],
  [[1, 150, 33], [1, 33, 27], false, false, 512], // rows of C (150 = 37 tiles of 4 + 2)
  [[1, 150, 33], [1, 27, 33], false, true, 512],
  [[1, 33, 150], [1, 33, 27], true, false, 512], // rows of C = columns of A
  [[1, 1300, 21], [1, 1300, 9], true, false, 100], // blocks of a long inner dimension, summed in order
  [[1, 2, 40], [1, 40, 7], false, false, 512], // two rows: all of them the workers' region
];

function products(): Float32Array[] {
  return CASES.map(([sa, sb, ta, tb, block], i) =>
    tf.tidy(() => {
      const a = randomTensor(3 * i + 1, sa) as tf.Tensor3D;
      const b = randomTensor(3 * i + 2, sb) as tf.Tensor3D;
      return simdBatchMatMul(a, b, ta, tb, undefined, block).dataSync() as Float32Array;
    }),
  );
}

const defaultIntensity = hooks.minIntensity;

/** Two threads sharing every product, the workers up; a worker that holds a chunk `timeoutMs` is given up. */
async function threads(timeoutMs: number): Promise<void> {
  setMatmulThreads(2, { minMultiplyAdds: 0, timeoutMs });
  hooks.minIntensity = 0; // share even these small products
  await hooks.whenReady();
}

/** The products with the workers off (the calling thread alone). */
function single(): Float32Array[] {
  hooks.disabled = true;
  try {
    return products();
  } finally {
    hooks.disabled = false;
  }
}

describeBackends('matrix products on worker threads', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(async () => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await threads(10_000); // generous: a loaded machine may deschedule a worker for a while
  });
  afterEach(() => {
    hooks.noStealing = false;
    hooks.minIntensity = defaultIntensity;
    warn.mockRestore();
  });
  afterAll(() => setMatmulThreads('auto'));

  it('gives bit-identical products, each way a product is split', () => {
    expect(getMatmulThreads()).toBe(2);
    const reference = single();
    hooks.noStealing = true; // the workers compute their whole region
    const threaded = products();
    expect(hooks.pool()?.workerChunks).toBeGreaterThan(CASES.length);
    hooks.noStealing = false; // and sharing it with the calling thread
    const shared = products();
    CASES.forEach((_, i) => {
      expect(threaded[i]).toEqual(reference[i]);
      expect(shared[i]).toEqual(reference[i]);
    });
    expect(warn).not.toHaveBeenCalled();
  });

  it('onOneMatmulThread: no product is shared inside it (the same results), shared again after', () => {
    const reference = single();
    const before = hooks.pool()?.workerChunks ?? 0;
    const inside = onOneMatmulThread(() => products());
    expect(hooks.pool()?.workerChunks).toBe(before);
    expect(inside).toEqual(reference);
    hooks.noStealing = true;
    products();
    expect(hooks.pool()?.workerChunks).toBeGreaterThan(before);
    expect(() =>
      onOneMatmulThread(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    hooks.noStealing = true;
    const after = hooks.pool()?.workerChunks ?? 0;
    products(); // the count went back down after the throw
    expect(hooks.pool()?.workerChunks).toBeGreaterThan(after);
  });

  it.each(['throw', 'exit', 'hang'] as const)(
    'a worker that fails (%s) mid-product: the same result, a warning, one thread from then on',
    async (fault) => {
      await threads(300);
      const reference = single();
      hooks.noStealing = true;
      hooks.injectFault(fault);
      const results = products();
      expect(results).toEqual(reference);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/one thread from now on/);
      expect(getMatmulThreads()).toBe(1);
    },
  );

  it('a worker that stalls: the calling thread computes its chunk, then gives the threads up', async () => {
    // A long timeout, so that no pause of a loaded machine reaches it while the products run; the
    // clock is then moved past it by hand (a wall-clock wait here failed on a loaded CI machine).
    const timeoutMs = 60_000;
    await threads(timeoutMs);
    const reference = single();
    hooks.injectFault('hang'); // the next chunk a worker takes never ends
    const pool = hooks.pool()!;
    for (let i = 0; i < 20 && !pool.abandoned; i++) {
      const results = products(); // not held up by the stalled chunk
      expect(results).toEqual(reference);
    }
    expect(pool.abandoned).not.toBeNull();
    expect(warn).not.toHaveBeenCalled();
    const since = pool.abandoned!.since;
    const clock = vi.spyOn(performance, 'now');
    try {
      clock.mockReturnValue(since + timeoutMs - 1); // not yet: one thread for now, no warning
      expect(products()).toEqual(reference);
      expect(warn).not.toHaveBeenCalled();
      expect(getMatmulThreads()).toBe(2);
      clock.mockReturnValue(since + timeoutMs + 1); // past the timeout: given up, with a warning
      expect(products()).toEqual(reference);
    } finally {
      clock.mockRestore();
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/within 60000 ms; matrix products run on one thread/);
    expect(getMatmulThreads()).toBe(1);
  });

  it('a worker that died between products: no hang, the same result', async () => {
    await threads(300);
    const reference = single();
    const pool = hooks.pool()!;
    await pool.workers[0].terminate();
    hooks.noStealing = true; // the calling thread waits for the dead worker: the timeout ends it
    const results = products();
    expect(results).toEqual(reference);
    expect(getMatmulThreads()).toBe(1);
  });
}, ['wasm']);

describeBackends('matrix product threads, configuration', () => {
  it('uses no worker for one thread, small products or one core; checks its options', () => {
    setMatmulThreads(1, { minMultiplyAdds: 0 });
    hooks.minIntensity = 0;
    expect(getMatmulThreads()).toBe(1);
    products();
    expect(hooks.pool()).toBeNull();
    expect(autoMatmulThreads(1)).toBe(1); // a single-core machine never starts a worker
    expect(autoMatmulThreads(2)).toBe(2);
    expect(autoMatmulThreads(64)).toBe(4);
    expect(() => setMatmulThreads(0)).toThrow(ConfigError);
    expect(() => setMatmulThreads(1.5)).toThrow(/threads/);
    expect(() => setMatmulThreads(2, { minMultiplyAdds: -1 })).toThrow(/minMultiplyAdds/);
    expect(() => setMatmulThreads(2, { timeoutMs: 0 })).toThrow(/timeoutMs/);
    hooks.minIntensity = defaultIntensity;
    setMatmulThreads('auto');
  });
}, ['wasm']);
