// Shared benchmark harness: every package's bench/run.mjs uses it, so all print the same
// JSON lines: {"name","median_ms","p10_ms","p90_ms","runs","backend", ...extra}.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Selected benchmarks: `--only a b` keeps names starting with any of the prefixes; a prefix
 * ending in `$` keeps that exact name only (`--only oneshot_step_topn_b128_n9$`).
 */
export function selected(name) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--only');
  if (i < 0) return true;
  const prefixes = argv.slice(i + 1).filter((a) => !a.startsWith('--'));
  return (
    prefixes.length === 0 ||
    prefixes.some((p) => (p.endsWith('$') ? name === p.slice(0, -1) : name.startsWith(p)))
  );
}

/** Backends to run tensor benchmarks on: `--backends cpu,wasm` (default: wasm). */
export function backendsFromArgs(defaults = ['wasm']) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--backends');
  return i >= 0 ? argv[i + 1].split(',') : defaults;
}

export async function useBackend(name) {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed`);
  await tf.ready();
}

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Times `fn` (sync or async) `runs` times after `warmup` calls; `setup` (optional) makes
 * a fresh input per run outside the timing. Prints and returns the JSON line.
 */
export async function bench(name, fn, { runs = 7, warmup = 1, setup, extra = {}, backend } = {}) {
  if (!selected(name)) return null;
  const times = [];
  for (let r = 0; r < warmup + runs; r++) {
    const input = setup ? await setup(r) : undefined;
    const t0 = performance.now();
    await fn(input);
    const dt = performance.now() - t0;
    if (r >= warmup) times.push(dt);
  }
  times.sort((a, b) => a - b);
  const round = (v) => Math.round(v * 1000) / 1000;
  const line = {
    name,
    median_ms: round(quantile(times, 0.5)),
    p10_ms: round(quantile(times, 0.1)),
    p90_ms: round(quantile(times, 0.9)),
    runs,
    backend: backend ?? (tf.getBackend() || 'host'),
    ...extra,
  };
  console.log(JSON.stringify(line));
  return line;
}

/** Median, 10th and 90th percentile of `xs`, rounded to µs. */
export function quantiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    return s[lo] + (s[Math.ceil(pos)] - s[lo]) * (pos - lo);
  };
  const round = (v) => Math.round(v * 1000) / 1000;
  return { median: round(q(0.5)), p10: round(q(0.1)), p90: round(q(0.9)) };
}

/**
 * A PyTorch peer kept alive to interleave its runs with ours: `script --serve` prints
 * {"ready": true, "torch", "torch_threads"}, then runs ONE timed case per line "<name>" on
 * stdin and prints {"ms"}. Null with `--no-peer` or without torch (ours then runs alone).
 * Python: /usr/bin/python3 or SETGEN_PEER_PYTHON.
 */
export async function startPeer(script, label) {
  if (process.argv.includes('--no-peer')) return null;
  const python = process.env.SETGEN_PEER_PYTHON ?? '/usr/bin/python3';
  if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.error(`${label}: ${python} has no torch; timing ours alone`);
    return null;
  }
  const child = spawn(python, [script, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
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

/**
 * Times `runs` rounds (after one warm-up round) of ours (`ours()`, ms) and then the peer's
 * case `peerName`, and returns the JSON line: ours' quantiles and, with a peer, its quantiles
 * and the median of the per-round ratios.
 */
export async function interleaved(name, ours, { peer, peerName = name, runs, backend, extra = {} }) {
  const [mine, theirs, ratios] = [[], [], []];
  for (let r = -1; r < runs; r++) {
    const ms = await ours();
    const peerMs = peer ? await peer.step(peerName) : Number.NaN;
    if (r < 0) continue; // warm-up, both sides
    mine.push(ms);
    theirs.push(peerMs);
    ratios.push(ms / peerMs);
  }
  const o = quantiles(mine);
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
  return { ...line, ...extra };
}
