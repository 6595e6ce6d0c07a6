// Shared benchmark harness: every package's bench/run.mjs uses it, so all print the same
// JSON lines: {"name","median_ms","p10_ms","p90_ms","runs","backend", ...extra}.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

/** Selected benchmarks: `--only a b` keeps names starting with any of the prefixes. */
export function selected(name) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--only');
  if (i < 0) return true;
  const prefixes = argv.slice(i + 1).filter((a) => !a.startsWith('--'));
  return prefixes.length === 0 || prefixes.some((p) => name.startsWith(p));
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
