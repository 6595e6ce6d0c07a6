// The page side of the browser suites (bundled by vite, run in headless Chromium): run the
// same cases on every tfjs backend and hand the numbers to the Node side, which compares
// each backend with wasm (./browser.ts). Values are read with the asynchronous `data()`.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
// tfjs-layers registers every gradient of tfjs-core as a side effect (TOOLCHAIN.md §3).
import '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export type BrowserBackend = 'wasm' | 'cpu' | 'webgl' | 'webgpu';
/** wasm first: it is the reference the others are compared with. */
export const BROWSER_BACKENDS: readonly BrowserBackend[] = ['wasm', 'cpu', 'webgl', 'webgpu'];

/** What a case returns: named tensors (read, then disposed by the runner) or plain numbers. */
export type CaseOutput = Record<string, tf.Tensor | number | ArrayLike<number>>;

/**
 * One check run on every backend. `setup` makes the inputs (and may return values of its own,
 * e.g. a first training step that creates optimizer state); `run` is the call under test. The
 * runner counts tensors around `run` only (its outputs disposed), so `leaked` is what the
 * library left behind; `teardown` disposes what `setup` made.
 */
export interface BrowserCase<I = unknown> {
  name: string;
  setup: () => I | Promise<I>;
  run: (inputs: I) => CaseOutput | Promise<CaseOutput>;
  setupValues?: (inputs: I) => CaseOutput;
  teardown?: (inputs: I) => void;
}

export interface CaseResult {
  /** Every output flattened to numbers (NaN stays NaN). */
  values: Record<string, number[]>;
  /** `tf.memory().numTensors` after `run` (outputs disposed) minus before. */
  leaked: number;
  /** Wall time of `run` including the read-back of its outputs. */
  ms: number;
  /** `ErrorClass: message` when `run` (or `setup`) threw. */
  error?: string;
}

export interface BackendResult {
  backend: BrowserBackend;
  /** False when `tf.setBackend` failed (then `error` says why and `cases` is empty). */
  ready: boolean;
  error?: string;
  cases: Record<string, CaseResult>;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // the innermost frame says where (module paths in the unminified bundle)
  const frame = error.stack?.split('\n').find((line) => line.trim().startsWith('at '));
  return `${error.name}: ${error.message}${frame ? ` (${frame.trim()})` : ''}`;
}

async function readOutput(output: CaseOutput): Promise<Record<string, number[]>> {
  const values: Record<string, number[]> = {};
  const tensors = Object.entries(output).filter((e): e is [string, tf.Tensor] => e[1] instanceof tf.Tensor);
  // one read-back for all tensors (each read is a round trip on the GPU backends)
  const joined = tf.tidy(() =>
    tf.concat([tf.zeros([0]), ...tensors.map(([, t]) => tf.reshape(tf.cast(t, 'float32'), [-1]))]),
  );
  const flat = await joined.data();
  joined.dispose();
  let offset = 0;
  for (const [key, value] of Object.entries(output)) {
    if (value instanceof tf.Tensor) {
      values[key] = Array.from(flat.subarray(offset, offset + value.size));
      offset += value.size;
    } else if (typeof value === 'number') values[key] = [value];
    else values[key] = Array.from(value);
  }
  return values;
}

function disposeOutput(output: CaseOutput): void {
  for (const value of Object.values(output)) if (value instanceof tf.Tensor) value.dispose();
}

async function runCase<I>(bcase: BrowserCase<I>): Promise<CaseResult> {
  let inputs: I | undefined;
  const result: CaseResult = { values: {}, leaked: 0, ms: 0 };
  try {
    inputs = await bcase.setup();
    if (bcase.setupValues) {
      const first = bcase.setupValues(inputs);
      for (const [key, value] of Object.entries(await readOutput(first)))
        result.values[`setup.${key}`] = value;
      disposeOutput(first);
    }
    const before = tf.memory().numTensors;
    const start = performance.now();
    let output: CaseOutput = {};
    try {
      output = await bcase.run(inputs);
      Object.assign(result.values, await readOutput(output));
      result.ms = performance.now() - start;
    } finally {
      disposeOutput(output);
      result.leaked = tf.memory().numTensors - before;
    }
  } catch (error) {
    result.error = describeError(error);
  } finally {
    if (inputs !== undefined) bcase.teardown?.(inputs);
  }
  return result;
}

/** Runs every case on every backend in turn (wasm binaries served from `wasmPath`). */
export async function runOnBackends(
  cases: readonly BrowserCase<any>[],
  backends: readonly BrowserBackend[] = BROWSER_BACKENDS,
  wasmPath = '/wasm/',
): Promise<BackendResult[]> {
  setWasmPaths(wasmPath);
  // shapes as uniforms: one compiled WebGL program per op rather than one per op and shape
  // (SwiftShader compiles slowly; this is tfjs's own switch, results are the same)
  tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
  const results: BackendResult[] = [];
  for (const backend of backends) {
    const result: BackendResult = { backend, ready: false, cases: {} };
    results.push(result);
    try {
      result.ready = await tf.setBackend(backend);
      await tf.ready();
      if (!result.ready) result.error = `tf.setBackend('${backend}') returned false`;
    } catch (error) {
      result.error = describeError(error);
    }
    if (!result.ready) continue;
    for (const bcase of cases) result.cases[bcase.name] = await runCase(bcase);
  }
  return results;
}

declare global {
  interface Window {
    /** Set by the page; the Node side awaits it (`page.evaluate(() => window.setgenResults)`). */
    setgenResults: Promise<unknown>;
  }
}

/** Publishes the page's results for the Node side. */
export function publishResults(results: Promise<unknown>): void {
  window.setgenResults = results;
}
