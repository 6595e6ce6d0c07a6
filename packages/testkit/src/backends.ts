// Run a suite once per tfjs backend. Tests import this instead of a backend, so library
// code never does.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-layers registers every gradient of tfjs-core as a side effect (TOOLCHAIN.md §3).
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe } from 'vitest';

export type BackendName = 'cpu' | 'wasm';
export const ALL_BACKENDS: readonly BackendName[] = ['cpu', 'wasm'];

/** Switches to `backend` and waits until it is ready. */
export async function useBackend(backend: BackendName): Promise<void> {
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
}

/**
 * `describe` once per backend: `describeBackends('chamfer', (backend) => { it(...) })`.
 * The backend is selected in a `beforeAll`, so tests inside run on it.
 */
export function describeBackends(
  name: string,
  body: (backend: BackendName) => void,
  backends: readonly BackendName[] = ALL_BACKENDS,
): void {
  for (const backend of backends) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
}
