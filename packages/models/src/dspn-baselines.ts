// The baselines of DSPN Table 1 (REFERENCES.md §4.3), decoding z straight into N slots of
// C + 1 features (the last is the mask):
//  'mlp':  Ŷ = W3·relu(W2·relu(W1·z))  reshaped to [N, C + 1]            (MLPDecoder)
//  'lstm': an LSTM with c₀ = z, h₀ = 0 and zero inputs, one slot per step, then a linear
//          read-out h_t → [C + 1]                                          (RNNDecoder)
// LSTM gates as PyTorch: [i, f, g, o] = W_hh·h + b, c' = σ(f)c + σ(i)tanh(g), h' = σ(o)tanh(c').

import { Random } from '@setgen/ops';
import {
  add,
  matMul,
  mul,
  relu,
  reshape,
  sigmoid,
  slice,
  split,
  stack,
  type Tensor2D,
  type Tensor3D,
  tanh,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import { ElementwiseDense } from './dense.js';
import type { NamedVariable } from './runtime/set-model.js';

export type BaselineKind = 'mlp' | 'lstm';

let instances = 0;

export class DSPNBaselineDecoder {
  private readonly layers: ElementwiseDense[];

  constructor(
    readonly kind: BaselineKind,
    readonly latentDim: number,
    readonly hiddenUnits: number,
    readonly setDim: number,
    readonly maxSize: number,
    seed: number,
  ) {
    const random = new Random(seed);
    const slot = setDim + 1;
    const id = `dspn-${kind}${++instances}`;
    this.layers =
      kind === 'mlp'
        ? [
            new ElementwiseDense(latentDim, hiddenUnits, random, `${id}/mlp1`),
            new ElementwiseDense(hiddenUnits, hiddenUnits, random, `${id}/mlp2`),
            new ElementwiseDense(hiddenUnits, slot * maxSize, random, `${id}/mlp3`),
          ]
        : [
            // W_hh [latent, 4·latent] with b = b_ih + b_hh (zero inputs make W_ih irrelevant)
            new ElementwiseDense(latentDim, 4 * latentDim, random, `${id}/lstm`),
            new ElementwiseDense(latentDim, slot, random, `${id}/readout`),
          ];
  }

  /** One affine layer on `[B, in]` rows. */
  private static affine(layer: ElementwiseDense, x: Tensor2D): Tensor2D {
    return add(matMul(x, layer.kernel), layer.bias) as Tensor2D;
  }

  /** z `[B, latentDim]` → `{ x [B, N, C], mask [B, N] }`. */
  decode(z: Tensor2D): { x: Tensor3D; mask: Tensor2D } {
    return tidy(() => {
      const b = z.shape[0];
      const slots = this.kind === 'mlp' ? this.mlp(z) : this.lstm(z);
      const [x, mask] = split(slots, [this.setDim, 1], 2);
      return { x: x as Tensor3D, mask: reshape(mask, [b, this.maxSize]) as Tensor2D };
    });
  }

  private mlp(z: Tensor2D): Tensor3D {
    const [l1, l2, l3] = this.layers;
    const h = relu(DSPNBaselineDecoder.affine(l2, relu(DSPNBaselineDecoder.affine(l1, z))));
    return reshape(DSPNBaselineDecoder.affine(l3, h), [z.shape[0], this.maxSize, this.setDim + 1]);
  }

  private lstm(z: Tensor2D): Tensor3D {
    const [cell, readout] = this.layers;
    const d = this.latentDim;
    let c = z;
    let h = zeros([z.shape[0], d]) as Tensor2D;
    const outputs: Tensor2D[] = [];
    for (let t = 0; t < this.maxSize; t++) {
      const gates = DSPNBaselineDecoder.affine(cell, h);
      const [i, f, g, o] = [0, 1, 2, 3].map((k) => slice(gates, [0, k * d], [-1, d]));
      c = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g))) as Tensor2D;
      h = mul(sigmoid(o), tanh(c)) as Tensor2D;
      outputs.push(h);
    }
    const hs = stack(outputs, 1) as Tensor3D; // [B, N, d]
    return readout.apply(hs);
  }

  namedWeights(): NamedVariable[] {
    return this.layers.flatMap((layer, i) => [
      { name: `${this.kind}/${i}/kernel`, variable: layer.kernel },
      { name: `${this.kind}/${i}/bias`, variable: layer.bias },
    ]);
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
  }
}
