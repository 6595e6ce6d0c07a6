// Sums over every axis but the feature axis: the gradient of a per-feature parameter
// (a bias, a LayerNorm gain or shift) applied to every element of a batch of sets.
// Computed as the product 1ᵀ·t of the flattened rows: tf.sum over the leading axis
// transposes t first on wasm (measured [9600,64]: 0.18 ms against 0.7 ms).
import { viewedMatMul } from '@setgen/ops/internal';
import { ones, type Tensor } from '@tensorflow/tfjs-core';

/** `[..., C]` → `[C]`, summed over all the leading axes (t read as rows in place: no reshape op). */
export function sumToFeatures(t: Tensor): Tensor {
  const width = t.shape[t.rank - 1];
  const rows = t.size / width;
  return viewedMatMul(ones([1, rows]), t, [1, 1, rows], [1, rows, width], [width]);
}
