// Chamfer B=16, N=M=2048, D=3 (squared, mean of mins, batch mean), the peer's
// `chamfer_b16_n2048_d3_*` (shared/peer/peer_bench.py). `--threads` also runs the lines with
// worker threads (`useWorkerThreads()` from @setgen/ops/node). Build first: `pnpm exec tsc -b`.
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, useBackend } from '../../../scripts/bench-harness.mjs';
import { chamferDistance, chamferDistanceHostBatch, Random } from '../dist/index.js';
import { useWorkerThreads } from '../dist/node.js';

const B = 16;
const N = 2048;
const D = 3;
const random = new Random(0);
const xs = Float32Array.from({ length: B * N * D }, () => random.uniform());
const ys = Float32Array.from({ length: B * N * D }, () => random.uniform());
const params = { B, N, M: N, D, convention: 'squared, mean-of-mins' };

async function run(threads) {
  const extra = { ...params, threads };
  const hostA = Array.from({ length: B }, (_, b) => ({
    values: xs.subarray(b * N * D, (b + 1) * N * D),
    n: N,
    d: D,
  }));
  const hostB = Array.from({ length: B }, (_, b) => ({
    values: ys.subarray(b * N * D, (b + 1) * N * D),
    n: N,
    d: D,
  }));
  await bench(
    `chamfer_host_b16_n2048_d3${threads > 1 ? '_threads' : ''}`,
    () => chamferDistanceHostBatch(hostA, hostB),
    {
      extra,
      backend: 'host',
    },
  );
  for (const backend of backendsFromArgs()) {
    await useBackend(backend);
    const x = tf.tensor3d(xs, [B, N, D]);
    const y = tf.tensor3d(ys, [B, N, D]);
    const suffix = threads > 1 ? '_threads' : '';
    await bench(
      `chamfer_b16_n2048_d3_fwd${suffix}`,
      () => {
        const loss = chamferDistance(x, y);
        loss.dataSync();
        loss.dispose();
      },
      { extra, backend },
    );
    const grads = tf.grads((p, q) => chamferDistance(p, q));
    await bench(
      `chamfer_b16_n2048_d3_fwd_bwd${suffix}`,
      () => {
        const [dx, dy] = grads([x, y]);
        dx.dataSync();
        dy.dataSync();
        tf.dispose([dx, dy]);
      },
      { extra, backend },
    );
    tf.dispose([x, y]);
  }
}

await run(1);
if (process.argv.includes('--threads')) {
  const stop = useWorkerThreads();
  await run(2);
  stop();
}
