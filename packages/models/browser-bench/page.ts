// Step times in one browser (src/browser-bench.test.ts, run on demand): Chamfer forward +
// backward at SetVAE's training size, and a whole SetVAE training step (the quickstart's model,
// 8 digits of 100 points), on wasm, webgl and webgpu, with Chamfer's nearest neighbours found
// on the host (a synchronous read-back) or on the device.
import { CHAMFER_NEIGHBOURS_FLAG, chamferDistance, type NeighbourSearch } from '@setgen/ops';
// browser-page registers the cpu, webgl and webgpu backends and tfjs-layers' gradients
import { publishResults } from '@setgen/testkit/browser-page';
import { randomSet } from '@setgen/testkit/sets';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { SetVAE } from '../src/index.js';

export interface Timing {
  name: string;
  backend: string;
  neighbours: NeighbourSearch;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  runs: number;
  /** Synchronous reads (dataSync) per run. */
  reads: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

let reads = 0;
const dataSync = tf.Tensor.prototype.dataSync;
tf.Tensor.prototype.dataSync = function (this: tf.Tensor) {
  reads++;
  return dataSync.call(this);
} as typeof dataSync;

async function time(
  name: string,
  neighbours: NeighbourSearch,
  warmup: number,
  runs: number,
  f: () => Promise<void>,
) {
  for (let i = 0; i < warmup; i++) await f();
  const times: number[] = [];
  reads = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const backend = tf.getBackend();
  return {
    name,
    backend,
    neighbours,
    median_ms: quantile(times, 0.5),
    p10_ms: quantile(times, 0.1),
    p90_ms: quantile(times, 0.9),
    runs,
    reads: reads / runs,
  };
}

async function run(): Promise<Timing[]> {
  setWasmPaths('/wasm/');
  tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
  const results: Timing[] = [];
  const backends = (new URLSearchParams(location.search).get('backends') ?? 'wasm,webgl,webgpu').split(',');
  for (const backend of backends) {
    await tf.setBackend(backend);
    await tf.ready();
    const gpu = backend === 'webgl' || backend === 'webgpu';
    for (const neighbours of gpu ? (['host', 'device'] as const) : (['host'] as const)) {
      tf.env().set(CHAMFER_NEIGHBOURS_FLAG, neighbours);
      const a = randomSet(1, [8, 100, 2]);
      const b = randomSet(2, [8, 100, 2]);
      const loss = (x: tf.Tensor) =>
        chamferDistance(x as tf.Tensor3D, b, { pointReduction: 'sum' }) as tf.Scalar;
      results.push(
        await time('chamfer_b8_n100_d2_fwd_bwd', neighbours, 2, 10, async () => {
          const { value, grad } = tf.valueAndGrad(loss)(a);
          await grad.data();
          tf.dispose([value, grad]);
        }),
      );
      tf.dispose([a, b]);
      const model = new SetVAE({ ...SetVAE.presets.setMnist, hiddenDim: 32, numHeads: 2, seed: 1 });
      const x = tf.add(tf.mul(randomSet(3, [8, 100, 2]), 0.4), 0.5) as tf.Tensor3D;
      results.push(
        await time(
          'setvae_step_quick_b8_n100',
          neighbours,
          backend === 'webgpu' ? 1 : 2,
          backend === 'webgpu' ? 2 : 5,
          async () => {
            model.trainStep(x);
          },
        ),
      );
      model.dispose();
      x.dispose();
    }
    tf.env().set(CHAMFER_NEIGHBOURS_FLAG, 'host');
  }
  return results;
}

publishResults(run());
