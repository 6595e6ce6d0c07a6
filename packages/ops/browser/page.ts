// The page of src/browser.test.ts: batchMatMul (our SIMD kernel on wasm and cpu) and
// splitRows against tf.matMul / tf.split, values and gradients, in a real browser.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tf.matMul's gradient for the reference
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMul, splitRows } from '../src/internal.js';

export interface BrowserCheck {
  backend: string;
  kernelRegistered: boolean;
  /** Largest |ours − tf.matMul| over the products, values and both gradients. */
  maxError: number;
  splitError: number;
  leakedTensors: number;
}

/** [a shape, b shape, transposeA, transposeB]: attention-, dense- and edge-sized products. */
const CASES: [number[], number[], boolean, boolean][] = [
  [[8, 37, 16], [8, 29, 16], false, true],
  [[8, 37, 29], [8, 37, 16], true, false],
  [[6, 5, 7], [6, 7, 13], false, false],
  [[300, 64], [64, 30], false, false],
  [[4, 50, 64], [64, 3], false, false],
];

async function check(backend: string): Promise<BrowserCheck> {
  await tf.setBackend(backend);
  await tf.ready();
  const before = tf.memory().numTensors;
  let maxError = 0;
  const worst = (x: tf.Tensor, y: tf.Tensor) => {
    maxError = Math.max(maxError, tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]);
  };
  for (const [sa, sb, transposeA, transposeB] of CASES) {
    tf.tidy(() => {
      const a = tf.randomNormal(sa, 0, 1, 'float32', 1);
      const b = tf.randomNormal(sb, 0, 1, 'float32', 2);
      const w = tf.randomNormal(batchMatMul(a, b, { transposeA, transposeB }).shape, 0, 1, 'float32', 3);
      const reference = (x: tf.Tensor, y: tf.Tensor) => {
        if (x.rank === 2 || y.rank === 3) {
          return tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, transposeA, transposeB);
        }
        const [batch, rows, k] = x.shape as number[]; // b shared by the batch
        return tf.reshape(tf.matMul(tf.reshape(x, [batch * rows, k]), y as tf.Tensor2D), [batch, rows, -1]);
      };
      const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(f(x, y), w));
      worst(batchMatMul(a, b, { transposeA, transposeB }), reference(a, b));
      const ours = tf.grads(loss((x, y) => batchMatMul(x, y, { transposeA, transposeB })))([a, b]);
      const ref = tf.grads(loss(reference))([a, b]);
      worst(ours[0], ref[0]);
      worst(ours[1], ref[1]);
    });
  }
  const splitError = tf.tidy(() => {
    const x = tf.randomNormal([7, 3, 4], 0, 1, 'float32', 4);
    const ours = splitRows(x, [3, 0, 4]);
    const ref = tf.split(x, [3, 0, 4], 0);
    return Math.max(...ours.map((t, i) => (t.size ? tf.max(tf.abs(tf.sub(t, ref[i]))).dataSync()[0] : 0)));
  });
  return {
    backend,
    kernelRegistered: tf.getKernel('SetgenBatchMatMul', backend) !== undefined,
    maxError,
    splitError,
    leakedTensors: tf.memory().numTensors - before,
  };
}

declare global {
  interface Window {
    browserChecks: Promise<BrowserCheck[]>;
  }
}

setWasmPaths('/wasm/');
window.browserChecks = (async () => [await check('wasm'), await check('cpu')])();
