// The element-wise dense layer of the attention blocks, t·W (+ b) (→ ReLU), as one
// differentiable op. Written out, its backward pass is the layer's own three products
// (dt = dz·Wᵀ, dW = tᵀ·dz, db = Σ dz) on the saved input, and nothing else is kept: tfjs's
// add keeps copies of both summands, relu one of its input, and every reshape around a
// product one of the reshaped tensor (a copy of the whole tensor each on wasm). With the
// ReLU, the output is kept instead (relu'(x) = 1 exactly where relu(x) > 0). The weight
// gradient reads t and dz as rows in place (`viewedMatMul`): no reshape runs at all.
import { ConfigError } from '@setgen/ops';
import { batchMatMul, saveShared, viewedMatMul } from '@setgen/ops/internal';
import {
  add,
  customGrad,
  type GradSaveFunc,
  mul,
  relu,
  step,
  type Tensor,
  tidy,
  zerosLike,
} from '@tensorflow/tfjs-core';
import { sumToFeatures } from './feature-sum.js';

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

/** dt and dW for t·W from dz (the gradient at the product): dW = Σ_rows tᵀ·dz over all B·N rows. */
function productGradients(dz: Tensor, t: Tensor, kernel: Tensor): Tensor[] {
  const dt = batchMatMul(dz, kernel, { transposeB: true });
  const [input, output] = kernel.shape as [number, number];
  const rows = t.size / input;
  const dKernel = viewedMatMul(t, dz, [1, rows, input], [1, rows, output], [input, output], {
    transposeA: true,
  });
  return [dt, dKernel];
}

const linear = customGrad(((t: Tensor, kernel: Tensor, save: GradSaveFunc) => {
  saveShared(save, [t, kernel]);
  return {
    value: batchMatMul(t, kernel),
    gradFunc: (dy: Tensor, [st, sk]: Tensor[]) => productGradients(dy, st, sk),
  };
}) as unknown as GradientFunction);

const affine = customGrad(((t: Tensor, kernel: Tensor, bias: Tensor, save: GradSaveFunc) => {
  saveShared(save, [t, kernel]);
  return {
    value: add(batchMatMul(t, kernel), bias),
    gradFunc: (dy: Tensor, [st, sk]: Tensor[]) => [...productGradients(dy, st, sk), sumToFeatures(dy)],
  };
}) as unknown as GradientFunction);

const reluGate = customGrad(((dy: Tensor, out: Tensor, save: GradSaveFunc) => {
  saveShared(save, [out]);
  return {
    value: mul(dy, step(out)),
    // relu'' = 0: only dy gets a gradient, and only the ReLU's output (already kept) is saved
    gradFunc: (ddy: Tensor, [so]: Tensor[]) => [mul(ddy, step(so)), zerosLike(so)],
  };
}) as unknown as GradientFunction);

/**
 * The ReLU's backward pass read from its output: `dy ⊙ [out > 0]`. Differentiable in `dy`
 * (a gradient of a gradient); the tape keeps only `out`, not a copy of the step mask.
 */
export function reluBackward<T extends Tensor>(dy: T, out: Tensor): T {
  return reluGate(dy, out) as T;
}

const affineRelu = customGrad(((t: Tensor, kernel: Tensor, bias: Tensor, save: GradSaveFunc) => {
  const value = relu(add(batchMatMul(t, kernel), bias));
  saveShared(save, [t, kernel, value]);
  return {
    value,
    gradFunc: (dy: Tensor, [st, sk, out]: Tensor[]) => {
      const dz = reluBackward(dy, out);
      return [...productGradients(dz, st, sk), sumToFeatures(dz)];
    },
  };
}) as unknown as GradientFunction);

/**
 * `t [B, N, in] · kernel [in, out]`, `+ bias [out]` when given, through ReLU with
 * `relu: true` (a biased layer) → `[B, N, out]`.
 */
export function denseProjection<T extends Tensor>(
  t: T,
  kernel: Tensor,
  { bias = null, relu: withRelu = false }: { bias?: Tensor | null; relu?: boolean } = {},
): T {
  if (withRelu && !bias) throw new ConfigError('denseProjection: relu is for a layer with a bias');
  return tidy(() => {
    if (!bias) return linear(t, kernel) as T;
    return (withRelu ? affineRelu : affine)(t, kernel, bias) as T;
  });
}
