// The one place that picks a tfjs backend (libraries never do): SETGEN_BACKEND or wasm.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers every gradient of tfjs-core
import * as tf from '@tensorflow/tfjs-core';

export async function pickBackend(): Promise<string> {
  const name = process.env.SETGEN_BACKEND ?? 'wasm';
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  return name;
}
