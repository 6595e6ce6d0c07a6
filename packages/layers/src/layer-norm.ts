// Layer normalisation over the feature axis (post-LN as in both MAB reference codes):
// LN(x) = (x − mean) / sqrt(var + ε) · γ + β, biased variance, ε = 1e-5 (PyTorch default).
// The backward pass is written out (x̂ = normalised x, r = 1/sqrt(var + ε), g = dy·γ):
//   dx = r·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy
// which takes a third of the kernels of the differentiated forward pass. The blocks use it
// as the post-LN residual LN(x + f), one op: both summands get dx, and the sum is never saved.
// On the wasm and cpu backends it is @setgen/ops' fused kernel (one kernel each way, the tape
// keeps x, f, γ and the rows' (μ, ρ) without copies); its results differ from these composed
// ops at float32 rounding only (the sums run in another order). Elsewhere, these ops.
import { fusedAddLayerNorm, fusedLayerNormAvailable } from '@setgen/ops/internal';
import {
  add,
  customGrad,
  type GradSaveFunc,
  mean,
  mul,
  reshape,
  rsqrt,
  square,
  sub,
  type Tensor,
  tidy,
} from '@tensorflow/tfjs-core';
import { sumToFeatures } from './feature-sum.js';

export const LAYER_NORM_EPSILON = 1e-5;

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

/** The forward pass: LN(x) and the tensors its backward pass needs (x̂, r, γ). */
function normalizeForward(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number) {
  // the centred x once, for the variance and x̂ (tf.moments centres a float32 copy of x)
  const centred = sub(x, mean(x, -1, true));
  const r = rsqrt(add(mean(square(centred), -1, true), epsilon));
  const normalized = mul(centred, r);
  return { value: add(mul(normalized, gamma), beta), saved: [normalized, r, gamma] };
}

/** `[dx, dγ, dβ]` from dy and the saved `[x̂, r, γ]`. */
function normalizeBackward(dy: Tensor, [xHat, r, gamma]: Tensor[]): Tensor[] {
  const g = mul(dy, gamma);
  const centred = sub(g, mean(g, -1, true));
  const dx = mul(sub(centred, mul(xHat, mean(mul(g, xHat), -1, true))), r);
  return [dx, sumToFeatures(mul(dy, xHat)), sumToFeatures(dy)];
}

function normalizeSumWith(epsilon: number) {
  return customGrad(((x: Tensor, residual: Tensor, gamma: Tensor, beta: Tensor, save: GradSaveFunc) => {
    const { value, saved } = normalizeForward(add(x, residual), gamma, beta, epsilon);
    save(saved);
    return {
      value,
      gradFunc: (dy: Tensor, s: Tensor[]) => {
        const [dx, dGamma, dBeta] = normalizeBackward(dy, s);
        // the same gradient for both summands, as two tensors (the tape disposes each)
        return [dx, reshape(dx, dx.shape), dGamma, dBeta];
      },
    };
  }) as unknown as GradientFunction);
}

const defaultNormalizeSum = normalizeSumWith(LAYER_NORM_EPSILON);

/**
 * The post-LN residual `LN(x + residual)` (same shapes), over the last axis with gain `gamma`
 * and shift `beta` (`[C]` each), without saving the sum.
 */
export function addLayerNormalize<T extends Tensor>(
  x: T,
  residual: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon = LAYER_NORM_EPSILON,
): T {
  if (fusedLayerNormAvailable()) return fusedAddLayerNorm(x, residual, gamma, beta, epsilon);
  return tidy(() => {
    const normalize = epsilon === LAYER_NORM_EPSILON ? defaultNormalizeSum : normalizeSumWith(epsilon);
    return normalize(x, residual, gamma, beta) as T;
  });
}
