import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  prefixMask,
  randomSet,
  valuesOf,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CHAMFER_NEIGHBOURS_FLAG, chamferDistance } from './chamfer-distance.js';
import { ConfigError } from './errors.js';
import type { PairCost, PointReduction } from './pair-cost.js';

const COSTS: PairCost[] = ['sqeuclidean', 'euclidean', 'huber'];
const REDUCTIONS: PointReduction[] = ['mean', 'sum'];

describeBackends('chamferDistance with neighbours on the device', () => {
  it('equals the host search: values and gradients, every cost and reduction, NaN in padding', () => {
    const maskA = prefixMask([7, 4, 1], 7);
    const maskB = prefixMask([5, 5, 2], 5);
    const a = fillPadding(tf.mul(randomSet(1, [3, 7, 3]), 2) as tf.Tensor3D, maskA, Number.NaN);
    const b = fillPadding(randomSet(2, [3, 5, 3]), maskB, Number.NaN);
    for (const pairCost of COSTS) {
      for (const pointReduction of REDUCTIONS) {
        const run = (neighbours: 'host' | 'device') => {
          const f = (x: tf.Tensor, y: tf.Tensor) =>
            tf.sum(
              tf.mul(
                chamferDistance(
                  { x: x as tf.Tensor3D, mask: maskA },
                  { x: y as tf.Tensor3D, mask: maskB },
                  {
                    pairCost,
                    pointReduction,
                    reduction: 'none',
                    neighbours,
                  },
                ),
                tf.tensor1d([1, -2, 0.5]),
              ),
            ) as tf.Scalar;
          const { value, grads } = tf.valueAndGrads(f)([a, b]);
          return [valuesOf(value), ...grads.map(valuesOf)];
        };
        const host = run('host');
        const device = run('device');
        expectClose(device[0], host[0], { rtol: 1e-5, atol: 1e-6 });
        expectClose(device[1], host[1], { rtol: 1e-5, atol: 1e-6 });
        expectClose(device[2], host[2], { rtol: 1e-5, atol: 1e-6 });
      }
    }
    tf.dispose([a, b, maskA, maskB]);
  });

  it('without masks; ties go to the lowest index as on the host', () => {
    const a = tf.tensor3d([
      [
        [0, 0],
        [2, 0],
      ],
    ]);
    const b = tf.tensor3d([
      [
        [1, 0],
        [1, 0],
        [3, 0],
      ],
    ]); // b0 and b1 tie for every a
    const grad = (neighbours: 'host' | 'device') =>
      valuesOf(
        tf.grad((y: tf.Tensor) => chamferDistance(a, y as tf.Tensor3D, { neighbours }) as tf.Scalar)(b),
      );
    expect(grad('device')).toEqual(grad('host'));
    expectClose(valuesOf(chamferDistance(a, b, { neighbours: 'device' })), valuesOf(chamferDistance(a, b)), {
      rtol: 1e-6,
    });
    tf.dispose([a, b]);
  });

  it('the flag sets the default; a bad flag or option is a ConfigError; nothing leaks', async () => {
    const a = randomSet(3, [2, 4, 2]);
    const b = randomSet(4, [2, 5, 2]);
    expect(tf.env().get(CHAMFER_NEIGHBOURS_FLAG)).toBe('host');
    const host = valuesOf(chamferDistance(a, b));
    tf.env().set(CHAMFER_NEIGHBOURS_FLAG, 'device');
    try {
      expectClose(valuesOf(chamferDistance(a, b)), host, { rtol: 1e-6 });
      await expectNoLeak(() => {
        const { value, grads } = tf.valueAndGrads(
          (x: tf.Tensor) => chamferDistance(x as tf.Tensor3D, b) as tf.Scalar,
        )([a]);
        tf.dispose([value, ...grads]);
      });
      tf.env().set(CHAMFER_NEIGHBOURS_FLAG, 'gpu');
      expect(() => chamferDistance(a, b)).toThrow(ConfigError);
    } finally {
      tf.env().set(CHAMFER_NEIGHBOURS_FLAG, 'host');
    }
    expect(() => chamferDistance(a, b, { neighbours: 'gpu' as never })).toThrow(ConfigError);
    tf.dispose([a, b]);
  });
});
