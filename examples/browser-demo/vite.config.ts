// The demo's build: relative paths (any static server, any sub-folder), @setgen/* from the
// packages' sources (no build step needed for `dev`), and two generated assets served in dev
// and written by `build`: tfjs-wasm's binaries (wasm/) and 2,000 Set-MNIST digits (digits/).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
const packages = resolve(import.meta.dirname, '../../packages');

/** 200 digits of each class from the `mnist` package as two IDX files (uint8 images, labels). */
export function digitFiles(perClass = 200): Record<string, Uint8Array> {
  const digitsDir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const classes = Array.from({ length: 10 }, (_, c) => {
    const { data } = JSON.parse(readFileSync(join(digitsDir, `${c}.json`), 'utf8')) as { data: number[] };
    return data;
  });
  const count = perClass * 10;
  const images = new Uint8Array(16 + count * 784);
  const labels = new Uint8Array(8 + count);
  const header = (bytes: Uint8Array, dims: number[]) => {
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0x0800 + dims.length); // IDX magic: unsigned byte, rank
    dims.forEach((d, i) => {
      view.setUint32(4 + 4 * i, d);
    });
  };
  header(images, [count, 28, 28]);
  header(labels, [count]);
  for (let c = 0; c < 10; c++) {
    for (let k = 0; k < perClass; k++) {
      const i = c * perClass + k;
      for (let p = 0; p < 784; p++) images[16 + i * 784 + p] = Math.round(classes[c][k * 784 + p] * 255);
      labels[8 + i] = c;
    }
  }
  return { 'digits/images.idx': images, 'digits/labels.idx': labels };
}

function wasmFiles(): Record<string, Uint8Array> {
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  return Object.fromEntries(
    readdirSync(dist)
      .filter((f) => f.endsWith('.wasm'))
      .map((f) => [`wasm/${f}`, readFileSync(join(dist, f))]),
  );
}

/** Serves the generated files in dev and emits them in build. */
function demoAssets(): Plugin {
  let files: Record<string, Uint8Array> | null = null;
  const all = () => {
    files ??= { ...wasmFiles(), ...digitFiles() };
    return files;
  };
  return {
    name: 'setgen-demo-assets',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const path = decodeURIComponent((request.url ?? '').split('?')[0]).replace(/^\//, '');
        const file = all()[path];
        if (!file) return next();
        response.setHeader(
          'content-type',
          path.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream',
        );
        response.end(file);
      });
    },
    generateBundle() {
      for (const [fileName, source] of Object.entries(all()))
        this.emitFile({ type: 'asset', fileName, source });
    },
  };
}

export default defineConfig({
  base: './',
  resolve: {
    alias: [
      { find: /^@setgen\/example-plot$/, replacement: resolve(import.meta.dirname, '../plot/src/index.ts') },
      { find: /^@setgen\/([a-z-]+)$/, replacement: `${packages}/$1/src/index.ts` },
    ],
    dedupe: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'],
  },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000, reportCompressedSize: false },
  plugins: [demoAssets()],
});
