// Layer normalisation over the feature axis (post-LN as in both MAB reference codes):
// LN(x) = (x − mean) / sqrt(var + ε) · γ + β, biased variance, ε = 1e-5 (PyTorch default).
import { add, moments, mul, rsqrt, sub, type Tensor, tidy } from '@tensorflow/tfjs-core';

export const LAYER_NORM_EPSILON = 1e-5;

/** LN over the last axis of `x` with gain `gamma` and shift `beta` (`[C]` each). */
export function layerNormalize<T extends Tensor>(
  x: T,
  gamma: Tensor,
  beta: Tensor,
  epsilon = LAYER_NORM_EPSILON,
): T {
  return tidy(() => {
    const { mean, variance } = moments(x, -1, true);
    return add(mul(mul(sub(x, mean), rsqrt(add(variance, epsilon))), gamma), beta) as T;
  });
}
