// batchMatMul's SIMD kernel and splitRows in headless Chromium (Debian's `chromium`, driven
// by playwright-core; .ci/run installs it): browser/page.ts is bundled with vite, served
// with tfjs-wasm's binaries, and compares ours with tf.matMul / tf.split on wasm and cpu.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { withChromiumPage } from '@setgen/testkit';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrowserCheck } from '../browser/page.js';

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

let site = '';
let server: Server;

beforeAll(async () => {
  site = mkdtempSync(join(tmpdir(), 'setgen-browser-'));
  const root = resolve(import.meta.dirname, '../browser');
  await build({
    configFile: false,
    root,
    logLevel: 'error',
    build: { outDir: site, emptyOutDir: true, minify: false, target: 'es2022' },
  });
  // tfjs-wasm fetches its binaries from the path given to setWasmPaths ('/wasm/')
  const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  const wasmDir = join(site, 'wasm');
  mkdirSync(wasmDir);
  for (const file of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) {
    copyFileSync(join(wasmDist, file), join(wasmDir, file));
  }
  server = createServer((request, response) => {
    const path = join(site, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(site) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
});

afterAll(() => {
  server?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

it('batchMatMul (SIMD kernel) and splitRows match tf.matMul / tf.split in headless Chromium', async () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await withChromiumPage(async (page, errors) => {
    await page.goto(`http://127.0.0.1:${port}/`);
    const checks = (await page.evaluate(() => window.browserChecks)) as BrowserCheck[];
    expect(errors).toEqual([]);
    expect(checks.map((c) => c.backend)).toEqual(['wasm', 'cpu']);
    for (const check of checks) {
      expect(check.kernelRegistered, `${check.backend}: kernel registered`).toBe(true);
      expect(check.maxError, `${check.backend}: products and gradients`).toBeLessThan(2e-4);
      expect(check.splitError, `${check.backend}: splitRows`).toBe(0);
      expect(check.leakedTensors, `${check.backend}: tensors left`).toBe(0);
    }
  });
});
