// Shared vitest settings: tests import sibling packages from their TypeScript sources
// (no build needed), run one file per worker, and allow slow tfjs backends time.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

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
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      maxWorkers: 2,
      // two test files already run at once on the 2 cores: no matmul worker threads on top
      // (tests that check them set the count themselves)
      env: { SETGEN_MATMUL_THREADS: process.env.SETGEN_MATMUL_THREADS ?? '1' },
    },
  });
}
