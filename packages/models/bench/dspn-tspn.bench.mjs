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
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import { backendsFromArgs, selected, useBackend } from '../../../scripts/bench-harness.mjs';
import { DSPN, TSPN } from '../dist/index.js';

const B = 32;
const N = 342;
const n = 150;
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 3;
const python = process.env.SETGEN_PEER_PYTHON ?? '/usr/bin/python3';

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

/** The peer as a child answering one timed step per request, or null (no torch / --no-peer). */
async function startPeer() {
  if (argv.includes('--no-peer')) return null;
  if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.error(`dspn-tspn bench: ${python} has no torch; timing ours alone`);
    return null;
  }
  const child = spawn(python, [join(import.meta.dirname, 'dspn_tspn_peer.py'), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ready = JSON.parse((await lines.next()).value);
  return {
    info: ready,
    async step(name) {
      child.stdin.write(`${name}\n`);
      return JSON.parse((await lines.next()).value).ms;
    },
    stop: () => child.stdin.end('\n'),
  };
}

function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    return s[lo] + (s[Math.ceil(pos)] - s[lo]) * (pos - lo);
  };
  const round = (v) => Math.round(v * 1000) / 1000;
  return { median: round(q(0.5)), p10: round(q(0.1)), p90: round(q(0.9)) };
}

const peer = ['dspn_step', 'dspn_step_recompute', 'tspn_step'].some(selected) ? await startPeer() : null;
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
      const ours = [];
      const theirs = [];
      const ratios = [];
      for (let r = -1; r < runs; r++) {
        const t0 = performance.now();
        model.trainStep(batch); // the runtime's step: forward, backward, checks, Adam; losses read back
        const ms = performance.now() - t0;
        const peerMs = peer ? await peer.step(peerName) : Number.NaN;
        if (r < 0) continue; // warm-up, both sides
        ours.push(ms);
        theirs.push(peerMs);
        ratios.push(ms / peerMs);
      }
      const o = quantiles(ours);
      const line = { name, median_ms: o.median, p10_ms: o.p10, p90_ms: o.p90, runs, backend };
      if (peer) {
        const t = quantiles(theirs);
        Object.assign(line, {
          peer_median_ms: t.median,
          peer_p10_ms: t.p10,
          peer_p90_ms: t.p90,
          ratio_median: quantiles(ratios).median,
          peer: `torch ${peer.info.torch}, ${peer.info.torch_threads} threads, interleaved`,
        });
      }
      console.log(JSON.stringify({ ...line, B, set_size: n, padded_to: N, params: model.countParams() }));
      model.dispose();
    }
    tf.dispose([batch.x, batch.mask]);
  }
} finally {
  peer?.stop();
}
