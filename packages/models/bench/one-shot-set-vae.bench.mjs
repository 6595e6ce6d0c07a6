// OneShotSetVAE training-step speed (Top-n creation, the reference's widths), beside the
// PyTorch peer bench/one-shot-set-vae_peer.py (same names, sizes and parameter count):
//   oneshot_step_topn_b128_n9   batch 128 sets of 9 atoms (the paper's mean size), positions + one-hot(4)
//   oneshot_step_topn_b128_n20  the same with 20 atoms
//   …_dp2         the same step data-parallel: 2 shards of 64 sets, one on a worker thread
//                 (`dataParallel(model, { shards: 2, workers: 1 })`; cpu_ms counts both threads)
//   …_dp2_inline  the same 2 shards both on the main thread (the cost of sharding on one core)
// Each step = the runtime's trainStep: forward + backward + global-norm clipping at 4 + Adam.
// Steady state, as in a training run of thousands of steps: 20 warm-up steps, then 20 timed
// (`--warmup N --runs N`; the peer has the same flags and defaults). On one core V8 spends the
// first ≈ 15 steps compiling (measured: 140–160 ms a step, then ≈ 70–90 ms), which the
// warm-up of 2 used until Dec 2026 counted as step time.
// `cpu_ms` = median process CPU time of a timed step (the peer reports the same): on a shared
// machine it moves less with the load than the wall time does.
//   node bench/one-shot-set-vae.bench.mjs [--backends wasm,cpu] [--warmup 20] [--runs 20]
import { matmulKernelVariant } from '@setgen/ops/internal';
import { getMatmulThreads } from '@setgen/ops/node';
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, bench, selected, useBackend } from '../../../scripts/bench-harness.mjs';
import { dataParallel, OneShotSetVAE } from '../dist/node.js';

/** `--name N` from the command line, or `fallback`. */
function intArg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number.parseInt(process.argv[i + 1], 10) : fallback;
}
const WARMUP = intArg('warmup', 20);
const RUNS = intArg('runs', 20);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const value = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Math.round(value * 10) / 10;
}

for (const backend of backendsFromArgs(['wasm'])) {
  await useBackend(backend);
  const variants = [
    ['', undefined],
    ['_dp2', { shards: 2, workers: 1 }],
    ['_dp2_inline', { shards: 2, workers: 0 }],
  ];
  for (const [suffix, parallel] of variants)
    for (const n of [9, 20]) {
      const name = `oneshot_step_topn_b128_n${n}${suffix}`;
      if (!selected(name)) continue;
      const model = new OneShotSetVAE({ creation: 'topn' });
      if (parallel) await dataParallel(model, parallel).ready();
      const x = tf.randomUniform([128, n, 7], -6, 6, 'float32', n); // positions and features in ±6, seeded
      // the runtime's step with the model's plan: Adam(2e-4), clipping at 4, plateau schedule
      const cpu = [];
      const step = () => {
        const start = process.cpuUsage();
        const total = model.trainStep({ x }).losses.total;
        const used = process.cpuUsage(start);
        cpu.push((used.user + used.system) / 1000);
        return total;
      };
      const warmup = backend === 'cpu' ? 2 : WARMUP;
      // matmul_kernel: 'fma' (relaxed SIMD: Node ≥ 22, or node --experimental-wasm-relaxed-simd) or 'simd'
      const extra = {
        B: 128,
        n,
        params: model.countParams(),
        ...parallel,
        matmul_kernel: matmulKernelVariant(),
        matmul_threads: getMatmulThreads(),
      };
      Object.defineProperty(extra, 'cpu_ms', { enumerable: true, get: () => median(cpu.slice(warmup)) });
      await bench(name, step, {
        runs: backend === 'cpu' ? 3 : RUNS,
        warmup,
        backend,
        extra,
      });
      model.dispose();
      x.dispose();
    }
}
