// Set Attention Block (Set Transformer Eq. 7): SAB(X) = MAB(X, X), self-attention within a
// set; permutation-equivariant. Same options and weights as the MAB it is.

import { serialization, type Tensor, type Tensor3D } from '@tensorflow/tfjs-core';
import { inputList, type Kwargs, masksFromKwargs, type Shape, singleSetShape } from './layer-utils.js';
import { MultiheadAttentionBlock, type MultiheadAttentionBlockArgs } from './multihead-attention-block.js';

/** Constructor arguments of `SetAttentionBlock` (`sab`): those of the MAB it applies as MAB(X, X). */
export type SetAttentionBlockArgs = MultiheadAttentionBlockArgs;

/**
 * SAB(X) = MAB(X, X): `apply(x [B,N,D], { mask?: [B,N], returnAttention? })` → `[B, N, D]`
 * ('setvae') or `[B, N, units]` ('set-transformer'). Weights: those of the MAB.
 */
export class SetAttentionBlock extends MultiheadAttentionBlock {
  static override className = 'SetgenSAB';

  override build(inputShape: Shape | Shape[]): void {
    const shape = singleSetShape(inputShape, 'SetAttentionBlock');
    super.build([shape, shape]);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleSetShape(inputShape, 'SetAttentionBlock');
    return super.computeOutputShape([shape, shape]);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const [x] = inputList(inputs, 1, 'SetAttentionBlock', 'one set [B,N,D]');
    const [mask] = masksFromKwargs(kwargs, [x], 'SetAttentionBlock');
    const { out, attention } = this.attend(x as Tensor3D, x as Tensor3D, {
      queryMask: mask,
      keyMask: mask,
      returnAttention: kwargs?.returnAttention === true,
    });
    return attention ? [out, attention] : out;
  }
}
serialization.registerClass(SetAttentionBlock);

/** `new SetAttentionBlock(args)`. */
export function sab(args: SetAttentionBlockArgs): SetAttentionBlock {
  return new SetAttentionBlock(args);
}
