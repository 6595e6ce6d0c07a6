// One training step (forward, backward, Adam) of DSPN and TSPN at Set-MNIST sizes, batch 32,
// interleaved with bench/dspn_tspn_peer.py (the same steps written from the reference codes
// in PyTorch, a python child kept alive with --serve): every run times one step of ours, then
// one step of the peer, so both see the same machine load. Cases:
//   dspn_step  DSPN's MNIST script: N = 342, C = 2, dim 256, latent 64, T = 10, η = 800,
//              Chamfer (smooth-L1, mask feature) on all 11 sets, second-order inner loop
//              (the default `innerGradient: 'explicit'`, full tape: ≈ 1.2 GB at this size)
//   dspn_step_recompute  the same with `recomputeInnerSteps` (the tape keeps ≈ 0.1 GB), timed
//              against the same peer step
//   tspn_step  the tf-tspn config: sets of 150 points padded to 342, FSEncoder 256/64,
//              3 Transformer blocks (d 256, 4 heads), i.i.d. initial set, Chamfer + size CE
// Each line: ours (median/p10/p90 ms), the peer's, and the median of the per-run ratios.
//   node bench/dspn-tspn.bench.mjs [--backends wasm,cpu] [--only dspn_step] [--runs 3] [--no-peer]
// The peer needs /usr/bin/python3 with torch (or SETGEN_PEER_PYTHON); without it ours runs alone.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  backendsFromArgs,
  interleaved,
  selected,
  startPeer,
  useBackend,
} from '../../../scripts/bench-harness.mjs';
import { DSPN, TSPN } from '../dist/index.js';

const B = 32;
const N = 342;
const n = 150;
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 3;

function uniformBatch(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const values = new Float32Array(B * N * 2);
  for (let i = 0; i < values.length; i++) values[i] = next();
  return {
    x: tf.tensor3d(values, [B, N, 2]),
    mask: tf.tidy(() => tf.cast(tf.less(tf.tile(tf.expandDims(tf.range(0, N), 0), [B, 1]), n), 'float32')),
  };
}

const peer = ['dspn_step', 'dspn_step_recompute', 'tspn_step'].some(selected)
  ? await startPeer(join(import.meta.dirname, 'dspn_tspn_peer.py'), 'dspn-tspn bench')
  : null;
try {
  for (const backend of backendsFromArgs(['wasm'])) {
    await useBackend(backend);
    const batch = uniformBatch(5);
    const cases = [
      ['dspn_step', () => new DSPN({ ...DSPN.presets.setMnist, maxSize: N })],
      [
        'dspn_step_recompute',
        () => new DSPN({ ...DSPN.presets.setMnist, maxSize: N, recomputeInnerSteps: true }),
        'dspn_step',
      ],
      ['tspn_step', () => new TSPN({ ...TSPN.presets.setMnist, maxSize: N })],
    ];
    for (const [name, make, peerName = name] of cases) {
      if (!selected(name)) continue;
      const model = make();
      const line = await interleaved(
        name,
        () => {
          const t0 = performance.now();
          model.trainStep(batch); // the runtime's step: forward, backward, checks, Adam; losses read back
          return performance.now() - t0;
        },
        { peer, peerName, runs, backend },
      );
      console.log(JSON.stringify({ ...line, B, set_size: n, padded_to: N, params: model.countParams() }));
      model.dispose();
    }
    tf.dispose([batch.x, batch.mask]);
  }
} finally {
  peer?.stop();
}
