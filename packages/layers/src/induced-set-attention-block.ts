// Induced Set Attention Block (Set Transformer Eq. 9–10; SetVAE's AttentiveBlock, §2.2 of
// REFERENCES.md): H = MAB0(I, X) projects the set onto m learned inducing points, then
// ISAB_m(X) = MAB1(X, H) broadcasts back; O(N·m) instead of SAB's O(N²). Equivariant.
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

/** Constructor arguments of `InducedSetAttentionBlock` (`isab`): the MAB's plus `numInducingPoints`. */
export interface InducedSetAttentionBlockArgs extends MultiheadAttentionBlockArgs {
  /** Number m of inducing points. Required. */
  numInducingPoints: number;
}

/** Per-call options of `InducedSetAttentionBlock.forward`. */
export interface IsabForwardOptions {
  /** `[B, N]` valid-mask of the set. */
  mask?: Tensor2D | null;
  /** Also return both attention maps. */
  returnAttention?: boolean;
}

/** What `InducedSetAttentionBlock.forward` returns. */
export interface IsabOutput {
  /** `[B, N, D]` ('setvae') or `[B, N, units]` ('set-transformer'); zero at padding. */
  out: Tensor3D;
  /** The projection H = MAB0(I, X), `[B, m, units]`. */
  h: Tensor3D;
  /** `[B, H, m, N]` (projection, I attending to X) and `[B, H, N, m]` (broadcast), when asked for. */
  attention: [Tensor, Tensor] | null;
}

/**
 * ISAB_m(X) = MAB1(X, MAB0(I, X)): `apply(x [B,N,D], { mask?, returnAttention? })`.
 * `attention` ('softmax' | 'slot') applies to the projection MAB0 only; MAB1 always uses
 * softmax attention (as SetVAE). Weights: I [m, units], then MAB0 (query I, key X; dQ = units,
 * dK = D), then MAB1 (query X, key H; dQ = D, dK = units), each in the MAB order.
 */
export class InducedSetAttentionBlock extends ComposedLayer {
  static className = 'SetgenISAB';
  readonly options: MabOptions;
  readonly numInducingPoints: number;
  readonly seed: number | undefined;
  readonly mab0: MultiheadAttentionBlock;
  readonly mab1: MultiheadAttentionBlock;
  private inducing: LayerVariable | null = null;
  private inputDim = 0;

  constructor(args: InducedSetAttentionBlockArgs) {
    const layer = 'InducedSetAttentionBlock';
    const options = checkMabOptions(args, layer, { numInducingPoints: is.integer(1) });
    const numInducingPoints = checkPositiveInteger(args.numInducingPoints, `${layer}.numInducingPoints`);
    super(args);
    this.options = options;
    this.numInducingPoints = numInducingPoints;
    this.seed = args.seed;
    const seed = (offset: number) => (args.seed === undefined ? undefined : args.seed + offset);
    this.mab0 = new MultiheadAttentionBlock({ ...options, seed: seed(100), name: `${this.name}_mab0` });
    this.mab1 = new MultiheadAttentionBlock({
      ...options,
      attention: 'softmax',
      slotDenominator: 'masked',
      seed: seed(200),
      name: `${this.name}_mab1`,
    });
  }

  protected weightOrder() {
    return [this.inducing, this.mab0, this.mab1];
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = singleSetShape(inputShape, 'InducedSetAttentionBlock');
    this.inputDim = knownWidth(shape, 'InducedSetAttentionBlock input');
    const { units } = this.options;
    const m = this.numInducingPoints;
    this.inducing = this.addWeight(
      'I',
      [m, units],
      'float32',
      initializers.glorotUniform({ seed: this.seed }),
    );
    const pointsShape: Shape = [shape[0], m, units];
    buildSublayer(this.mab0, 'mab0', [pointsShape, shape]);
    buildSublayer(this.mab1, 'mab1', [shape, pointsShape]);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleSetShape(inputShape, 'InducedSetAttentionBlock');
    return [shape[0], shape[1], this.mab1.outputDim(shape[2] as number)];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const [x] = inputList(inputs, 1, 'InducedSetAttentionBlock', 'one set [B,N,D]');
    const [mask] = masksFromKwargs(kwargs, [x], 'InducedSetAttentionBlock');
    const returnAttention = kwargs?.returnAttention === true;
    const { out, h, attention } = this.forward(x as Tensor3D, { mask, returnAttention });
    h.dispose();
    return attention ? [out, ...attention] : out;
  }

  /** ISAB with its intermediate H (SetVAE's encoder keeps H as the bottom-up feature). */
  forward(x: Tensor3D, { mask = null, returnAttention = false }: IsabForwardOptions = {}): IsabOutput {
    this.checkInput(x, mask);
    const result = tidy(() => {
      const projected = this.projectChecked(x, mask, returnAttention);
      const broadcast = this.mab1.attend(x, projected.out, { queryMask: mask, returnAttention });
      const outs = [broadcast.out, projected.out];
      return returnAttention ? [...outs, projected.attention!, broadcast.attention!] : outs;
    });
    return {
      out: result[0] as Tensor3D,
      h: result[1] as Tensor3D,
      attention: returnAttention ? [result[2], result[3]] : null,
    };
  }

  /**
   * The projection H = MAB0(I, X) alone (`[B, m, units]`, with its attention `[B, H, m, N]`
   * when asked for), without the broadcast back to the set: all that a last encoder level needs.
   */
  project(
    x: Tensor3D,
    { mask = null, returnAttention = false }: IsabForwardOptions = {},
  ): { h: Tensor3D; attention: Tensor | null } {
    this.checkInput(x, mask);
    const result = tidy(() => {
      const projected = this.projectChecked(x, mask, returnAttention);
      return returnAttention ? [projected.out, projected.attention!] : [projected.out];
    });
    return { h: result[0] as Tensor3D, attention: result[1] ?? null };
  }

  private checkInput(x: Tensor3D, mask: Tensor2D | null): void {
    if (!this.built) buildEagerly(this, x.shape);
    checkSet(x, this.inputDim, `${this.name} input`);
    checkMask(mask, x, `${this.name} mask`);
  }

  /** MAB0(I, X) on checked inputs (call inside a tidy). */
  private projectChecked(x: Tensor3D, mask: Tensor2D | null, returnAttention: boolean) {
    const points = tileOverBatch(this.inducing!, x.shape[0]);
    return this.mab0.attend(points, x, { keyMask: mask, returnAttention });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...this.options,
      numInducingPoints: this.numInducingPoints,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
serialization.registerClass(InducedSetAttentionBlock);

/** `new InducedSetAttentionBlock(args)`. */
export function isab(args: InducedSetAttentionBlockArgs): InducedSetAttentionBlock {
  return new InducedSetAttentionBlock(args);
}
