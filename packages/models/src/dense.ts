// The element-wise fully-connected layers SetVAE owns outright (input FC, initial-set FC,
// output FC; Table 4). Kernels `[in, out]`, PyTorch's nn.Linear init U(±1/sqrt(in)) for
// kernel and bias (as the reference), computed by layers' `denseProjection` (one op with a
// written-out backward pass).

import { denseProjection } from '@setgen/layers';
import { linearInitValues } from '@setgen/layers/internal';
import type { Random } from '@setgen/ops';
import { type Tensor3D, tensor1d, tensor2d, tidy, type Variable, variable } from '@tensorflow/tfjs-core';
import type { NamedVariable } from './runtime/set-model.js';

export class ElementwiseDense {
  readonly kernel: Variable;
  readonly bias: Variable;

  constructor(
    readonly inputDim: number,
    readonly units: number,
    random: Random,
    readonly name: string,
  ) {
    const kernel = linearInitValues(inputDim, inputDim * units, random);
    const bias = linearInitValues(inputDim, units, random);
    this.kernel = tidy(() => variable(tensor2d(kernel, [inputDim, units]), true, `${name}/kernel`));
    this.bias = tidy(() => variable(tensor1d(bias), true, `${name}/bias`));
  }

  /** `x [B, N, in]` → `x·W + b` `[B, N, units]`, through a ReLU with `relu: true` (one op). */
  apply(x: Tensor3D, { relu = false }: { relu?: boolean } = {}): Tensor3D {
    return denseProjection(x, this.kernel, { bias: this.bias, relu });
  }

  get variables(): Variable[] {
    return [this.kernel, this.bias];
  }

  /** Checkpoint entries `key/kernel`, `key/bias`. */
  namedWeights(key: string): NamedVariable[] {
    return [
      { name: `${key}/kernel`, variable: this.kernel },
      { name: `${key}/bias`, variable: this.bias },
    ];
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias.dispose();
  }
}
