import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { startWorker } from './worker-pool.js';

const answer = (worker: Worker) =>
  new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });

it('starts a worker although the parent passes V8 flags, which Node refuses in a worker’s execArgv', async () => {
  const source = "require('node:worker_threads').parentPort.postMessage(6 * 7)";
  // what Node itself says about such a flag, so the test cannot pass vacuously
  const { Worker: NodeWorker } = await import('node:worker_threads');
  expect(
    () => new NodeWorker(source, { eval: true, execArgv: ['--experimental-wasm-relaxed-simd'] }),
  ).toThrow(/invalid execArgv flags: --experimental-wasm-relaxed-simd/);
  const worker = startWorker(source, ['--experimental-wasm-relaxed-simd', '--max-old-space-size=512']);
  expect(await answer(worker)).toBe(42);
  await worker.terminate();
  // a flag a worker accepts is kept
  const kept = startWorker("require('node:worker_threads').parentPort.postMessage(process.execArgv)", [
    '--no-deprecation',
    '--experimental-wasm-relaxed-simd',
  ]);
  expect(await answer(kept)).toEqual(['--no-deprecation']);
  await kept.terminate();
});

it('computeAllMetrics on worker threads runs in a process started with node --experimental-wasm-relaxed-simd', () => {
  const entry = fileURLToPath(new URL('../dist/node.js', import.meta.url));
  const script = `
    const { computeAllMetrics } = await import(${JSON.stringify(entry)});
    const cloud = (s) => ({ values: Float64Array.from({ length: 12 }, (_, i) => Math.sin(i * s)), n: 4, d: 3 });
    const m = await computeAllMetrics([1, 2, 3].map((s) => cloud(s)), [4, 5, 6].map((s) => cloud(s)), { workers: 2 });
    console.log(JSON.stringify([m['1-NNA-CD'], m['COV-CD']]));
  `;
  const out = execFileSync(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  const [nna, cov] = JSON.parse(out.trim().split('\n').at(-1) as string);
  // 3 generated and 3 reference clouds: 1-NNA and COV are multiples of 1/6 and 1/3, in [0, 1]
  expect(Number.isFinite(nna) && nna >= 0 && nna <= 1).toBe(true);
  expect(Number.isFinite(cov) && cov >= 0 && cov <= 1).toBe(true);
});
