// batchMatMul on wasm with its worker threads against the calling thread alone, interleaved
// (rounds of: one thread, threads), on the products of a SetVAE step (dense layers over 9600
// rows, their weight gradients, attention slices), of a one-shot VAE step (1152 rows), of a
// large-set MAB, and smaller ones: where sharing a product pays (the thresholds).
// Each case prints `<name>` (threads), `<name>_1thread`, and a ratio line; `load` is the
// 1-minute load average when the case ended (threads only help when a core is idle).
// Build first: `pnpm exec tsc -b`. Run: `node bench/matmul-threads.bench.mjs [--threads 2] [--rounds 15]`.
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { selected, useBackend } from '../../../scripts/bench-harness.mjs';
import { batchMatMul } from '../dist/internal.js';
import { matmulThreadsForTests as hooks, setMatmulThreads } from '../dist/matmul-threads.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const threads = option('--threads', 2);
const rounds = option('--rounds', 15);

const CASES = [
  // name, a, b, transposeA, transposeB
  ['mt_dense_64x64x64', [64, 64], [64, 64], false, false],
  ['mt_dense_256x64x64', [256, 64], [64, 64], false, false],
  ['mt_dense_512x64x64', [512, 64], [64, 64], false, false],
  ['mt_dense_1152x64x64', [1152, 64], [64, 64], false, false],
  ['mt_dense_grad_x_1152x64x64', [1152, 64], [64, 64], false, true],
  ['mt_dense_grad_w_1152x64x64', [1152, 64], [1152, 64], true, false],
  ['mt_dense_2048x64x64', [2048, 64], [64, 64], false, false],
  ['mt_dense_9600x64x64', [9600, 64], [64, 64], false, false],
  ['mt_dense_grad_w_9600x64x64', [9600, 64], [9600, 64], true, false],
  ['mt_attention_scores_512x9x16', [512, 9, 16], [512, 9, 16], false, true],
  ['mt_attention_scores_256x150x16x32', [256, 150, 16], [256, 32, 16], false, true],
  ['mt_attention_grad_256x32x150x16', [256, 150, 32], [256, 150, 16], true, false],
  // a large-set MAB (B 16, N 2048, 4 heads of 16): its projections and one chunk of 4 attention maps
  ['mt_dense_32768x64x64', [32768, 64], [64, 64], false, false],
  ['mt_mab_scores_4x2048x16x2048', [4, 2048, 16], [4, 2048, 16], false, true],
  ['mt_mab_values_4x2048x2048x16', [4, 2048, 2048], [4, 2048, 16], false, false],
];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (v) => Math.round(v * 1000) / 1000;

await useBackend('wasm');
setMatmulThreads(threads, { minMultiplyAdds: 0 });
hooks.minIntensity = 0; // every case shared, to see where it pays
await hooks.whenReady();
for (const [name, sa, sb, transposeA, transposeB] of CASES) {
  if (!selected(name)) continue;
  const a = tf.randomNormal(sa);
  const b = tf.randomNormal(sb);
  const product = () => tf.dispose(batchMatMul(a, b, { transposeA, transposeB }));
  // calls per timing: about 2 ms of work, so the timer's resolution does not matter
  hooks.disabled = true;
  let t0 = performance.now();
  for (let i = 0; i < 5; i++) product();
  const reps = Math.max(1, Math.round(2 / ((performance.now() - t0) / 5)));
  const times = { one: [], threads: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['one', 'threads']) {
      hooks.disabled = mode === 'one';
      t0 = performance.now();
      for (let i = 0; i < reps; i++) product();
      times[mode].push((performance.now() - t0) / reps);
    }
  }
  const load = round(loadavg()[0]);
  const extra = { a: sa, b: sb, transposeA, transposeB, threads, load };
  for (const [suffix, mode] of [
    ['', 'threads'],
    ['_1thread', 'one'],
  ]) {
    const sorted = [...times[mode]].sort((x, y) => x - y);
    const line = {
      name: `${name}${suffix}`,
      median_ms: round(median(sorted)),
      p10_ms: round(sorted[Math.floor(0.1 * (sorted.length - 1))]),
      p90_ms: round(sorted[Math.ceil(0.9 * (sorted.length - 1))]),
      runs: rounds,
      backend: 'wasm',
      ...extra,
    };
    console.log(JSON.stringify(line));
  }
  const ratios = times.threads.map((t, i) => t / times.one[i]);
  console.log(JSON.stringify({ name: `ratio:${name}`, ratio: round(median(ratios)), load }));
  tf.dispose([a, b]);
}
setMatmulThreads('auto');
