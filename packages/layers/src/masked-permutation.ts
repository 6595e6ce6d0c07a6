// A gather that is a (partial) permutation, done on the host: FSPool's sort and FSUnpool's
// un-sort. Its gradient is the adjoint permutation, again one of these, so it can be
// differentiated to any order (DSPN's inner loop) on every backend, without a gather kernel.

import { ShapeError } from '@setgen/ops';
import { customGrad, type Tensor, tensor } from '@tensorflow/tfjs-core';

type GradSave = (save: Tensor[]) => void;

function permuteWith(x: Tensor, source: Int32Array, adjoint: Int32Array, outShape: number[]): Tensor {
  const permute = customGrad((...args: (Tensor | GradSave)[]) => {
    const input = args[0] as Tensor;
    const values = input.dataSync();
    const out = new Float32Array(source.length);
    for (let r = 0; r < source.length; r++) {
      const element = source[r];
      if (element >= 0) out[r] = values[element];
    }
    return {
      value: tensor(out, outShape),
      gradFunc: (dy: Tensor | Tensor[]) => permuteWith(dy as Tensor, adjoint, source, input.shape),
    };
  });
  return permute(x);
}

/**
 * `out[r] = x[source[r]]` over the flattened tensors, and 0 where `source[r] < 0`, shaped
 * `outShape`. The non-negative entries of `source` must be distinct (checked), so the
 * gradient is the adjoint `dx[source[r]] = dy[r]`.
 */
export function maskedPermutation(x: Tensor, source: Int32Array, outShape: number[]): Tensor {
  const size = outShape.reduce((a, b) => a * b, 1);
  if (size !== source.length) {
    throw new ShapeError(`source: expected ${size} entries for the output shape, got ${source.length}`);
  }
  const adjoint = new Int32Array(x.size).fill(-1);
  for (let r = 0; r < source.length; r++) {
    const element = source[r];
    if (element < 0) continue;
    if (element >= x.size || adjoint[element] >= 0) {
      throw new ShapeError(`source[${r}]: expected a distinct index in [0, ${x.size}), got ${element}`);
    }
    adjoint[element] = r;
  }
  return permuteWith(x, source, adjoint, outShape);
}
