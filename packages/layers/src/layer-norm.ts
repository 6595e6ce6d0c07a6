// Layer normalisation over the feature axis (post-LN as in both MAB reference codes):
// LN(x) = (x − mean) / sqrt(var + ε) · γ + β, biased variance, ε = 1e-5 (PyTorch default).
// The backward pass is written out (x̂ = normalised x, r = 1/sqrt(var + ε), g = dy·γ):
//   dx = r·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy
// which takes a third of the kernels of the differentiated forward pass.
import {
  add,
  customGrad,
  type GradSaveFunc,
  mean,
  moments,
  mul,
  reshape,
  rsqrt,
  sub,
  sum,
  type Tensor,
  tidy,
} from '@tensorflow/tfjs-core';

export const LAYER_NORM_EPSILON = 1e-5;

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

/** Sum over every axis but the last: `[..., C]` → `[C]`. */
function sumToFeatures(t: Tensor): Tensor {
  const width = t.shape[t.rank - 1];
  return sum(reshape(t, [t.size / width, width]), 0);
}

function normalizeWith(epsilon: number) {
  return customGrad(((x: Tensor, gamma: Tensor, beta: Tensor, save: GradSaveFunc) => {
    const { mean: mu, variance } = moments(x, -1, true);
    const r = rsqrt(add(variance, epsilon));
    const normalized = mul(sub(x, mu), r);
    save([normalized, r, gamma]);
    return {
      value: add(mul(normalized, gamma), beta),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xHat, rs, g0] = saved;
        const g = mul(dy, g0);
        const centred = sub(g, mean(g, -1, true));
        const dx = mul(sub(centred, mul(xHat, mean(mul(g, xHat), -1, true))), rs);
        return [dx, sumToFeatures(mul(dy, xHat)), sumToFeatures(dy)];
      },
    };
  }) as unknown as GradientFunction);
}

const defaultNormalize = normalizeWith(LAYER_NORM_EPSILON);

/** LN over the last axis of `x` with gain `gamma` and shift `beta` (`[C]` each). */
export function layerNormalize<T extends Tensor>(
  x: T,
  gamma: Tensor,
  beta: Tensor,
  epsilon = LAYER_NORM_EPSILON,
): T {
  return tidy(() => {
    const normalize = epsilon === LAYER_NORM_EPSILON ? defaultNormalize : normalizeWith(epsilon);
    return normalize(x, gamma, beta) as T;
  });
}
