import { describeBackends, expectClose, expectNoLeak, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
import { chamferDistance } from '../chamfer-distance.js';
import { chamferDistanceHostBatch } from '../chamfer-host.js';
import { ConfigError } from '../errors.js';
import { useWorkerThreads } from './worker-threads.js';

function randomValues(length: number, seed: number): Float32Array {
  const rand = testRandom(seed);
  return Float32Array.from({ length }, () => rand());
}

describeBackends('useWorkerThreads', () => {
  let stop: (() => void) | undefined;
  afterAll(() => stop?.());

  it('gives exactly the single-thread results (host batch, tensor values and gradients)', () => {
    const sizes = [37, 5, 64, 1, 20];
    const sets = (seed: number, d: number) =>
      sizes.map((n, k) => ({ values: randomValues(n * d, seed + k), n, d }));
    const a = sets(1, 3);
    const b = sets(50, 3);
    const x = tf.tensor3d(randomValues(5 * 30 * 3, 7), [5, 30, 3]);
    const y = tf.tensor3d(randomValues(5 * 20 * 3, 8), [5, 20, 3]);
    const mask = tf.tensor2d(
      Array.from({ length: 5 }, (_, s) => Array.from({ length: 30 }, (_, i) => (i <= 6 * s ? 1 : 0))),
    );
    const run = () => ({
      host: Array.from(chamferDistanceHostBatch(a, b, { pointReduction: 'sum' })),
      huber: Array.from(chamferDistance({ x, mask }, y, { pairCost: 'huber', reduction: 'none' }).dataSync()),
      grad: Array.from(
        tf
          .grad((p: tf.Tensor) => chamferDistance({ x: p as tf.Tensor3D, mask }, y) as tf.Scalar)(x)
          .dataSync(),
      ),
    });
    const single = tf.tidy(run);
    stop = useWorkerThreads({ threads: 3, minPairs: 0 });
    const threaded = tf.tidy(run);
    expect(threaded.host).toEqual(single.host);
    expectClose(threaded.huber, single.huber, { rtol: 0, atol: 0 });
    expectClose(threaded.grad, single.grad, { rtol: 0, atol: 0 });
    tf.dispose([x, y, mask]);
  });

  it('leaks nothing and checks its options', async () => {
    const x = tf.tensor3d(randomValues(2 * 8 * 3, 9), [2, 8, 3]);
    await expectNoLeak(() => chamferDistance(x, x).dispose());
    expect(() => useWorkerThreads({ threads: 0 })).toThrow(ConfigError);
    expect(() => useWorkerThreads({ minPairs: Number.NaN })).toThrow(/minPairs/);
    x.dispose();
  });
}, ['cpu']);
