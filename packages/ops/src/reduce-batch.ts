import { mean, sum, type Tensor, type Tensor1D, tidy } from '@tensorflow/tfjs-core';
import type { Reduction } from './set-batch.js';

/** Applies a batch `reduction` to per-set values `[B]`: 'none' keeps them, else a scalar. */
export function reduceBatch(perSet: Tensor1D, reduction: Reduction): Tensor {
  if (reduction === 'none') return perSet;
  return tidy(() => (reduction === 'mean' ? mean(perSet) : sum(perSet)));
}
