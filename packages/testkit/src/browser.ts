// The Node side of the browser suites: bundle a page with vite, serve it with tfjs-wasm's
// binaries, open it in headless Chromium (Debian's `chromium`, driven by playwright-core) and
// compare what every backend computed with wasm. Without a browser the suites skip with a
// one-line notice; SETGEN_BROWSER_TESTS=required (set by .ci/run) turns that into a failure.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendResult, BrowserBackend } from './browser-page.js';

export const CHROMIUM = process.env.SETGEN_CHROMIUM ?? '/usr/bin/chromium';
/** `SETGEN_BROWSER_TESTS=required`: a missing browser fails the suites instead of skipping them. */
export const BROWSER_REQUIRED = process.env.SETGEN_BROWSER_TESTS === 'required';
export const CHROMIUM_INSTALL = 'apt-get install chromium';
/**
 * The time a browser suite's page work may take before it counts as hung. In CI, turbo runs the
 * packages' suites side by side on 2 cores, and a case there took 10–12× its idle time (layers'
 * conformance suite 142 s in one run), so the budget is ≈ 4× the slowest seen. A safety net
 * against hangs, not a speed check.
 */
export const BROWSER_BUDGET_MS = 600_000;

const PACKAGES = resolve(import.meta.dirname, '../..');
const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

/**
 * Flags for headless Chromium on this kind of machine (TOOLCHAIN.md §6): no network chatter,
 * WebGPU on the SwiftShader adapter, and ANGLE/Vulkan on SwiftShader too. Without the last
 * three (or with `--disable-gpu`) tfjs-webgpu's synchronous read (`dataSync`, which copies
 * through an OffscreenCanvas) returns zeros and then loses the device ("A valid external
 * Instance reference no longer exists"); WebGL works either way.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
  '--use-vulkan=swiftshader',
  '--enable-features=Vulkan',
];

/** `describe` when Chromium is there (or required); otherwise `describe.skip` with a notice. */
export function describeInBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
    return;
  }
  const missing = `no Chromium at ${CHROMIUM}; install it with \`${CHROMIUM_INSTALL}\` or set SETGEN_CHROMIUM`;
  if (BROWSER_REQUIRED) {
    describe(name, () => {
      it('has a browser (SETGEN_BROWSER_TESTS=required)', () => {
        throw new Error(`SETGEN_BROWSER_TESTS=required but ${missing}`);
      });
    });
    return;
  }
  console.warn(`browser tests skipped (${name}): ${missing}`);
  describe.skip(name, body);
}

/** Static files of `dir` on 127.0.0.1 (any free port), as any static server would serve them. */
export async function serveStatic(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = join(dir, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(dir) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** Copies tfjs-wasm's `.wasm` binaries into `dir` (the pages call `setWasmPaths('/wasm/')`). */
export function copyWasmBinaries(dir: string): void {
  const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) {
    copyFileSync(join(wasmDist, file), join(dir, file));
  }
}

/** Launches headless Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it with \`${CHROMIUM_INSTALL}\` or set SETGEN_CHROMIUM`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'setgen-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and uncaught exceptions of a page. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  return errors;
}

/**
 * Runs `use` with a new page of headless Chromium and the list of its console errors and
 * uncaught exceptions (filled as they happen), then closes the browser and removes its
 * profile, whatever `use` did.
 */
export async function withChromiumPage<T>(use: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    return await use(page, collectPageErrors(page));
  } finally {
    await browser.close();
  }
}

export interface SuitePage {
  page: Page;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
  /** Awaits the page's `window.setgenResults`. */
  results<T = BackendResult[]>(): Promise<T>;
  close(): Promise<void>;
}

/**
 * Bundles `root` (a folder with `index.html` and its script; `@setgen/*` resolve to the
 * packages' sources), serves it with the wasm binaries, launches Chromium and opens the page.
 */
export async function openSuitePage(root: string): Promise<SuitePage> {
  const site = mkdtempSync(join(tmpdir(), 'setgen-browser-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(site, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    await build({
      configFile: false,
      root,
      logLevel: 'error',
      resolve: {
        alias: [
          {
            find: /^@setgen\/testkit\/(browser-page|sets|random)$/,
            replacement: `${PACKAGES}/testkit/src/$1.ts`,
          },
          { find: /^@setgen\/([a-z-]+)\/internal$/, replacement: `${PACKAGES}/$1/src/internal.ts` },
          { find: /^@setgen\/([a-z-]+)$/, replacement: `${PACKAGES}/$1/src/index.ts` },
        ],
        dedupe: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'],
      },
      build: {
        outDir: site,
        emptyOutDir: true,
        minify: false,
        target: 'es2022',
        reportCompressedSize: false,
      },
    });
    copyWasmBinaries(join(site, 'wasm'));
    const server = await serveStatic(site);
    cleanups.push(server.close);
    const browser = await launchChromium();
    cleanups.push(browser.close);
    const page = await browser.context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(server.url, { timeout: BROWSER_BUDGET_MS }); // a loaded 2-core machine can take long
    return {
      page,
      errors,
      results: <T>() => page.evaluate(() => window.setgenResults) as Promise<T>,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** |x − ref| ≤ atol + rtol·|ref| element-wise. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface Deviation {
  backend: BrowserBackend;
  case: string;
  key: string;
  /** Largest |x − ref| / (atol + rtol·|ref|) over the elements: ≤ 1 passes. */
  ratio: number;
  index: number;
  value: number;
  reference: number;
}

/**
 * Compares `backend` with `reference` case by case: the same outputs, no error on either
 * side, no leaked tensor, and every element within `tolerance` (NaN only where the reference
 * has NaN; outputs named `info.*` are not compared). Returns one line per failure (empty when they agree) and the worst deviation.
 */
export function compareBackends(
  reference: BackendResult,
  result: BackendResult,
  tolerance: Tolerance | ((caseName: string) => Tolerance),
): { failures: string[]; worst: Deviation | null } {
  const failures: string[] = [];
  let worst: Deviation | null = null;
  const backend = result.backend;
  if (!result.ready) return { failures: [`${backend}: not initialised (${result.error})`], worst };
  for (const [name, ref] of Object.entries(reference.cases)) {
    const got = result.cases[name];
    const tol = typeof tolerance === 'function' ? tolerance(name) : tolerance;
    if (!got) {
      failures.push(`${backend} ${name}: not run`);
      continue;
    }
    if (ref.error || got.error) {
      failures.push(
        `${backend} ${name}: error (${got.error ?? 'none'}; ${reference.backend}: ${ref.error ?? 'none'})`,
      );
      continue;
    }
    if (got.leaked !== 0) failures.push(`${backend} ${name}: ${got.leaked} tensors left behind`);
    for (const [key, expected] of Object.entries(ref.values)) {
      if (key.startsWith('info.')) continue; // backend facts, not results
      const actual = got.values[key];
      if (!actual || actual.length !== expected.length) {
        failures.push(
          `${backend} ${name}.${key}: ${actual?.length ?? 'no'} values, ${expected.length} expected`,
        );
        continue;
      }
      let caseWorst: Deviation | null = null;
      for (let i = 0; i < expected.length; i++) {
        const r = expected[i];
        const x = actual[i];
        const diff = Math.abs(x - r) / (tol.atol + tol.rtol * Math.abs(r));
        const ratio =
          Number.isNaN(r) && Number.isNaN(x) ? 0 : Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff;
        if (!caseWorst || ratio > caseWorst.ratio) {
          caseWorst = { backend, case: name, key, ratio, index: i, value: x, reference: r };
        }
      }
      if (caseWorst && caseWorst.ratio > 1) {
        failures.push(
          `${backend} ${name}.${key}[${caseWorst.index}]: ${caseWorst.value} vs ${reference.backend} ${caseWorst.reference} (atol ${tol.atol}, rtol ${tol.rtol})`,
        );
      }
      if (caseWorst && (!worst || caseWorst.ratio > worst.ratio)) worst = caseWorst;
    }
  }
  return { failures, worst };
}

export interface ConformanceOptions {
  /** The page folder (index.html + a script that publishes `runOnBackends(cases)`). */
  root: string;
  /** Names of the cases the page runs (checked, so a case cannot silently disappear). */
  cases: readonly string[];
  /** Per backend and case, the bound against wasm. */
  tolerance: (backend: Exclude<BrowserBackend, 'wasm'>, caseName: string) => Tolerance;
  /** Cases expected to fail with this error on a backend (a documented limitation). */
  expectedErrors?: Partial<Record<BrowserBackend, Record<string, RegExp>>>;
  /** More tests on the results (called inside the describe, after the common ones). */
  extra?: (results: () => BackendResult[]) => void;
}

export const CONFORMANCE_BACKENDS: readonly BrowserBackend[] = ['wasm', 'cpu', 'webgl', 'webgpu'];

/**
 * The common browser suite: one Chromium launch runs the page; then the page had no console
 * error, every backend initialised, wasm ran every case without error, leak or non-finite
 * value, and each other backend matches wasm within its tolerance.
 */
export function describeConformance(name: string, options: ConformanceOptions): void {
  describeInBrowser(name, () => {
    let results: BackendResult[] = [];
    let pageErrors: string[] = [];
    beforeAll(async () => {
      const suite = await openSuitePage(options.root);
      try {
        results = await suite.results();
        pageErrors = suite.errors;
      } finally {
        await suite.close();
      }
    }, BROWSER_BUDGET_MS);

    afterAll(() => {
      const times = results.map((r) => {
        const cases = Object.entries(r.cases).sort((a, b) => b[1].ms - a[1].ms);
        const total = cases.reduce((t, [, c]) => t + c.ms, 0);
        const slowest = cases.slice(0, 2).map(([k, c]) => `${k} ${c.ms.toFixed(0)}`);
        return `${r.backend} ${total.toFixed(0)} ms (slowest: ${slowest.join(', ')})`;
      });
      console.info(`${name}, time in the cases:\n  ${times.join('\n  ')}`);
    });

    it('the page ran with no console error and every backend initialised', () => {
      expect(pageErrors).toEqual([]);
      expect(results.map((r) => [r.backend, r.ready, r.error])).toEqual(
        CONFORMANCE_BACKENDS.map((b) => [b, true, undefined]),
      );
    });

    it('wasm: every case ran, with no error, no tensor left behind and finite outputs', () => {
      const wasm = results[0];
      expect(Object.keys(wasm.cases)).toEqual(options.cases);
      for (const [caseName, c] of Object.entries(wasm.cases)) {
        expect(c.error, caseName).toBeUndefined();
        expect(c.leaked, `${caseName}: tensors left`).toBe(0);
        for (const [key, values] of Object.entries(c.values)) {
          expect(values.every(Number.isFinite), `${caseName}.${key} finite`).toBe(true);
        }
      }
    });

    it.each(CONFORMANCE_BACKENDS.slice(1) as Exclude<BrowserBackend, 'wasm'>[])(
      '%s: values and gradients match wasm, no leaks',
      (backend) => {
        const result = results.find((r) => r.backend === backend)!;
        const expected = options.expectedErrors?.[backend] ?? {};
        const { failures, worst } = compareBackends(
          {
            ...results[0],
            cases: Object.fromEntries(Object.entries(results[0].cases).filter(([k]) => !expected[k])),
          },
          result,
          (caseName) => options.tolerance(backend, caseName),
        );
        expect(failures).toEqual([]);
        for (const [caseName, pattern] of Object.entries(expected)) {
          expect(result.cases[caseName]?.error, `${backend} ${caseName}`).toMatch(pattern);
          expect(result.cases[caseName]?.leaked, `${backend} ${caseName}: tensors left`).toBe(0);
        }
        console.info(`${name}: ${backend} vs wasm, worst deviation (1 = the tolerance):`, worst);
      },
    );

    options.extra?.(() => results);
  });
}
