// The one place the Node examples pick a tfjs backend (DESIGN.md: libraries never do): env
// SETGEN_BACKEND, else tfjs-node if it can be imported, else wasm, else cpu.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// registers every gradient of tfjs-core (TOOLCHAIN.md §3)
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

async function tryBackend(name: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return true;
  } catch {
    return false;
  }
}

/** A guarded import: tfjs-node is an optional native package, not a dependency of any example. */
async function importTfjsNode(): Promise<unknown> {
  return import(/* @vite-ignore */ '@tensorflow/tfjs-node' as string).catch(() => null);
}

/**
 * Selects and initialises a backend and returns its name: `SETGEN_BACKEND` if set (an Error if
 * it cannot be initialised), else `tensorflow` (tfjs-node, when installed), else `wasm`, else `cpu`.
 */
export async function pickBackend(): Promise<string> {
  const wanted = process.env.SETGEN_BACKEND;
  if (wanted) {
    if (wanted === 'tensorflow') await importTfjsNode();
    if (!(await tryBackend(wanted)))
      throw new Error(`SETGEN_BACKEND=${wanted}: backend failed to initialise`);
    return wanted;
  }
  if ((await importTfjsNode()) && (await tryBackend('tensorflow'))) return 'tensorflow';
  for (const name of ['wasm', 'cpu']) if (await tryBackend(name)) return name;
  throw new Error('no tfjs backend could be initialised');
}
