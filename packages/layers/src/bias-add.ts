// The bias of a dense layer, optionally followed by its ReLU, as one differentiable op:
// tfjs's add keeps copies of both summands for its gradient and relu one of its input, where
// the gradient needs only the feature sums of dy (for b) and, for the ReLU, the output
// (relu'(x) = 1 exactly where relu(x) > 0).
import {
  add,
  cast,
  customGrad,
  type GradSaveFunc,
  mul,
  relu as reluOp,
  reshape,
  step,
  type Tensor,
  tidy,
} from '@tensorflow/tfjs-core';
import { sumToFeatures } from './feature-sum.js';

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

const plainBias = customGrad(((y: Tensor, bias: Tensor) => ({
  value: add(y, bias),
  gradFunc: (dy: Tensor) => [reshape(dy, dy.shape), sumToFeatures(dy)],
})) as unknown as GradientFunction);

const reluBias = customGrad(((y: Tensor, bias: Tensor, save: GradSaveFunc) => {
  const value = reluOp(add(y, bias));
  save([value]);
  return {
    value,
    gradFunc: (dy: Tensor, [out]: Tensor[]) => {
      const dz = mul(dy, cast(step(out), 'float32'));
      return [dz, sumToFeatures(dz)];
    },
  };
}) as unknown as GradientFunction);

/** `y + bias` over the last axis of `y` (`bias [C]`), then ReLU with `relu: true`. */
export function addBias<T extends Tensor>(y: T, bias: Tensor, { relu = false }: { relu?: boolean } = {}): T {
  return tidy(() => (relu ? reluBias : plainBias)(y, bias) as T);
}
