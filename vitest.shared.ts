// Shared vitest settings: tests import sibling packages from their TypeScript sources
// (no build needed), run one file per worker, and allow slow tfjs backends time.
// Files named `*.relaxed-simd.test.ts` run in a second project whose workers validate
// WebAssembly relaxed SIMD (FMA kernels): Node 20 needs `--experimental-wasm-relaxed-simd`
// for that, newer runtimes (which may not know the flag any more) have it by default.
import { resolve } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

/** `(func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd …))`: packages/ops/src/wasm-fma.ts. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02,
  0x0b,
]);
const RELAXED_SIMD_TESTS = 'src/**/*.relaxed-simd.test.ts';
/** Node flags under which relaxed SIMD validates: none where it does by default. */
const relaxedSimdArgv = WebAssembly.validate(RELAXED_SIMD_PROBE) ? [] : ['--experimental-wasm-relaxed-simd'];

const packagesDir = resolve(import.meta.dirname, 'packages');
const examplesDir = resolve(import.meta.dirname, 'examples');

export function packageTestConfig(_packageDir: string) {
  return defineConfig({
    resolve: {
      alias: [
        { find: /^@setgen\/example-plot\/node$/, replacement: `${examplesDir}/plot/src/node.ts` },
        { find: /^@setgen\/([a-z-]+)\/(node|testing|internal)$/, replacement: `${packagesDir}/$1/src/$2.ts` },
        { find: /^@setgen\/example-plot$/, replacement: `${examplesDir}/plot/src/index.ts` },
        { find: /^@setgen\/example-kit$/, replacement: `${examplesDir}/kit/src/index.ts` },
        { find: /^@setgen\/testkit$/, replacement: `${packagesDir}/testkit/src/index.ts` },
        { find: /^@setgen\/([a-z-]+)$/, replacement: `${packagesDir}/$1/src/index.ts` },
      ],
    },
    test: {
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      maxWorkers: 2,
      // two test files already run at once on the 2 cores: no matmul worker threads on top
      // (tests that check them set the count themselves)
      env: { SETGEN_MATMUL_THREADS: process.env.SETGEN_MATMUL_THREADS ?? '1' },
      projects: [
        {
          extends: true,
          test: {
            name: 'default',
            include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
            exclude: [...configDefaults.exclude, RELAXED_SIMD_TESTS],
          },
        },
        {
          extends: true,
          test: { name: 'relaxed-simd', include: [RELAXED_SIMD_TESTS], execArgv: relaxedSimdArgv },
        },
      ],
    },
  });
}
