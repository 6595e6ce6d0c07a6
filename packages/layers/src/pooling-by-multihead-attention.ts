// Pooling by Multihead Attention (Set Transformer Eq. 11): PMA_k(X) = MAB(S, X) with k learned
// seed vectors S; permutation-invariant, [B, N, D] → [B, k, units]. As in the reference code
// there is no rFF on X before the MAB (REFERENCES.md §1.2).
import { checkPositiveInteger, is } from '@setgen/ops/internal';
import { serialization, type Tensor, type Tensor2D, type Tensor3D, tidy } from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable } from '@tensorflow/tfjs-layers';
import { ComposedLayer } from './composed-layer.js';
import { buildEagerly } from './eager-build.js';
import {
  buildSublayer,
  checkMask,
  checkSet,
  inputList,
  type Kwargs,
  masksFromKwargs,
  type Shape,
  singleSetShape,
  tileOverBatch,
} from './layer-utils.js';
import {
  checkMabOptions,
  knownWidth,
  type MabOptions,
  MultiheadAttentionBlock,
  type MultiheadAttentionBlockArgs,
} from './multihead-attention-block.js';

/** Constructor arguments of `PoolingByMultiheadAttention` (`pma`): the MAB's plus `numSeeds`. */
export interface PoolingByMultiheadAttentionArgs extends MultiheadAttentionBlockArgs {
  /** Number k of seed vectors (outputs per set). Required. */
  numSeeds: number;
}

/**
 * PMA_k(X) = MAB(S, X): `apply(x [B,N,D], { mask?, returnAttention? })` → `[B, k, units]`
 * (with `returnAttention`, also `[B, H, k, N]`). Padded elements get no attention, so the
 * result depends on the valid elements only. Weights: S [k, units], then the MAB (query S,
 * key X) in its documented order.
 */
export class PoolingByMultiheadAttention extends ComposedLayer {
  static className = 'SetgenPMA';
  readonly options: MabOptions;
  readonly numSeeds: number;
  readonly seed: number | undefined;
  readonly mab: MultiheadAttentionBlock;
  private seeds: LayerVariable | null = null;
  private inputDim = 0;

  constructor(args: PoolingByMultiheadAttentionArgs) {
    const layer = 'PoolingByMultiheadAttention';
    const options = checkMabOptions(args, layer, { numSeeds: is.integer(1) });
    const numSeeds = checkPositiveInteger(args.numSeeds, `${layer}.numSeeds`);
    super(args);
    this.options = options;
    this.numSeeds = numSeeds;
    this.seed = args.seed;
    this.mab = new MultiheadAttentionBlock({
      ...options,
      seed: args.seed === undefined ? undefined : args.seed + 100,
      name: `${this.name}_mab`,
    });
  }

  protected weightOrder() {
    return [this.seeds, this.mab];
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = singleSetShape(inputShape, 'PoolingByMultiheadAttention');
    this.inputDim = knownWidth(shape, 'PoolingByMultiheadAttention input');
    const { units } = this.options;
    this.seeds = this.addWeight(
      'S',
      [this.numSeeds, units],
      'float32',
      initializers.glorotUniform({ seed: this.seed }),
    );
    buildSublayer(this.mab, 'mab', [[shape[0], this.numSeeds, units], shape]);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleSetShape(inputShape, 'PoolingByMultiheadAttention');
    return [shape[0], this.numSeeds, this.options.units];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const [x] = inputList(inputs, 1, 'PoolingByMultiheadAttention', 'one set [B,N,D]');
    const [mask] = masksFromKwargs(kwargs, [x], 'PoolingByMultiheadAttention');
    const { out, attention } = this.pool(x as Tensor3D, mask, kwargs?.returnAttention === true);
    return attention ? [out, attention] : out;
  }

  /** PMA_k(x) with the set's `[B, N]` valid-mask; `attention [B, H, k, N]` when asked for. */
  pool(
    x: Tensor3D,
    mask: Tensor2D | null = null,
    returnAttention = false,
  ): { out: Tensor3D; attention: Tensor | null } {
    if (!this.built) buildEagerly(this, x.shape);
    checkSet(x, this.inputDim, `${this.name} input`);
    checkMask(mask, x, `${this.name} mask`);
    const seeds = this.seeds!;
    const result = tidy(() => {
      const { out, attention } = this.mab.attend(tileOverBatch(seeds, x.shape[0]), x, {
        keyMask: mask,
        returnAttention,
      });
      return attention ? [out, attention] : [out];
    });
    return { out: result[0] as Tensor3D, attention: result[1] ?? null };
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...this.options,
      numSeeds: this.numSeeds,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
serialization.registerClass(PoolingByMultiheadAttention);

/** `new PoolingByMultiheadAttention(args)`. */
export function pma(args: PoolingByMultiheadAttentionArgs): PoolingByMultiheadAttention {
  return new PoolingByMultiheadAttention(args);
}
