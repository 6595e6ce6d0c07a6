// The browser bundle: every browser-safe entry (generated import list prepended by the test),
// ISAB + Chamfer on wasm with the binaries served next to the bundle.

import { isab } from '@setgen/layers';
import { chamferDistance } from '@setgen/ops';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export async function run() {
  setWasmPaths('./');
  await tf.setBackend('wasm');
  const x = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 1);
  const y = isab({ units: 3, numHeads: 1, numInducingPoints: 2, seed: 1 }).apply(x);
  return chamferDistance(x, y).dataSync()[0];
}
