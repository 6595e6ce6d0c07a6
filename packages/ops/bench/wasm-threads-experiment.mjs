// Experiment (not a benchmark; `pnpm bench` does not run it): can tfjs-wasm 4.22's threaded
// SIMD build run in Node? tfjs hard-codes WASM_HAS_MULTITHREAD_SUPPORT = false in Node
// (tfjs issue #3830), and its threaded init hands emscripten's pthread workers blob: URLs,
// which node:worker_threads cannot load. This script forces the flag, makes every Blob tfjs
// creates also a file (the worker script, and the main script the workers import, with the
// bundle's module-scope names it needs), and times a batched and a dense matmul.
//   THREADS=2 node bench/wasm-threads-experiment.mjs    (and THREADS=1 to compare)
// Result (3 Dec 2026): the threaded binary loads and the 8 pthread workers start, but
// getThreadsCount() reports 1 (XNNPACK's pool did not get its threads, as in Chromium with
// COOP/COEP, TOOLCHAIN.md), and the matmul times do not change. So threads are not a route
// in tfjs 4.22; two cores would need our own kernel to split its work over workers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tfjs-thr-'));
const NativeBlob = globalThis.Blob;
let count = 0;
class FileBackedBlob extends NativeBlob {
  constructor(parts, options) {
    parts = [...parts];
    super(parts, options);
    const text = parts.map(String).join('');
    this.__path = join(dir, `blob${count++}.cjs`);
    if (text.startsWith('var WasmBackendModuleThreadedSimd')) {
      globalThis.__mainPath = this.__path;
      parts = [
        'var require$$0 = require("fs"), require$$1 = require("path"), require$$2 = require("worker_threads"), require$$3 = require("perf_hooks"), require$$4 = require("os"), commonjsGlobal = globalThis;\n' +
          text,
      ];
    }
    const body = parts.map(String).join('');
    writeFileSync(
      this.__path,
      body.startsWith('"use strict";var Module={};')
        ? body.replace(
            'if(typeof e.data.urlOrBlob=="string")',
            `if((e.data.urlOrBlob=${JSON.stringify(globalThis.__mainPath)}),true)`,
          )
        : body,
    );
  }
}
globalThis.Blob = FileBackedBlob;
const nativeCreate = URL.createObjectURL;
URL.createObjectURL = (b) => (b?.__path ? b.__path : nativeCreate(b));
const tf = await import('@tensorflow/tfjs-core');
const wasm = await import('@tensorflow/tfjs-backend-wasm');
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
wasm.setThreadsCount(Number(process.env.THREADS ?? 2));
console.log('setBackend', await tf.setBackend('wasm'));
await tf.ready();
console.log('threads', wasm.getThreadsCount());
const a = tf.randomNormal([8, 512, 512]);
const b = tf.randomNormal([8, 512, 512]);
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  const c = tf.matMul(a, b);
  c.dataSync();
  console.log('bmm ms', (performance.now() - t0).toFixed(1));
  c.dispose();
}
const x = tf.randomNormal([64 * 150, 256]);
const w = tf.randomNormal([256, 256]);
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  const c = tf.matMul(x, w);
  c.dataSync();
  console.log('dense ms', (performance.now() - t0).toFixed(1));
  c.dispose();
}
process.exit(0);
