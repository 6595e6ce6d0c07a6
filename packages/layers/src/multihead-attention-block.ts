// Multihead Attention Block, MAB(X, Y) (Set Transformer Eq. 6; SetVAE Eq. 3–4), in the two
// exact forms of the reference codes (REFERENCES.md §1.1 and §2.1):
//  'setvae'          q,k,v = X·Wq, Y·Wk, Y·Wv (no bias); A = LN1(X + MH(q,k,v)·Wo);
//                    out = LN2(A + FFN(A)), FFN = relu(A·W1 + b1)·W2 + b2 (width = query dim).
//  'set-transformer' Q' = X·Wq + bq, K' = Y·Wk + bk, V' = Y·Wv + bv; O = Q' + MH(Q',K',V')
//                    (residual on the PROJECTED query, no Wo); [LN0]; O = O + relu(O·Wo + bo); [LN1].
// Masks (valid-masks, kwargs.mask = [queryMask, keyMask]): padded keys get no attention and
// outputs at padded queries are zero, so padding never changes a result.

import { ConfigError, formatShape, ShapeError } from '@setgen/ops';
import { type Check, checkPositiveInteger, elementMask, is, zeroPadding } from '@setgen/ops/internal';
import {
  add,
  expandDims,
  mul,
  serialization,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tidy,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable, layers } from '@tensorflow/tfjs-layers';
import { type AttentionKind, multiheadAttention, type SlotDenominator } from './attention.js';
import { denseProjection } from './dense-projection.js';
import { buildEagerly } from './eager-build.js';
import { addLayerNormalize } from './layer-norm.js';
import {
  checkLayerArgs,
  checkMask,
  checkSet,
  inputList,
  type Kwargs,
  type LayerArgs,
  masksFromKwargs,
  type Shape,
} from './layer-utils.js';
import { linearInitializer } from './linear-init.js';

export type { AttentionKind, SlotDenominator } from './attention.js';
/** Which reference code the block follows exactly. */
export type MabVariant = 'setvae' | 'set-transformer';

/** Every `MabVariant`, for validation and iteration. */
export const MAB_VARIANTS: readonly MabVariant[] = ['setvae', 'set-transformer'];
/** Every `AttentionKind`, for validation and iteration. */
export const ATTENTION_KINDS: readonly AttentionKind[] = ['softmax', 'slot'];
/** Every `SlotDenominator`, for validation and iteration. */
export const SLOT_DENOMINATORS: readonly SlotDenominator[] = ['masked', 'padded'];

/** Constructor arguments of `MultiheadAttentionBlock` (`mab`). */
export interface MultiheadAttentionBlockArgs extends LayerArgs {
  /** Width of the projected queries/keys/values (dim_V); a multiple of `numHeads`. Required. */
  units: number;
  /** Number of heads; each head takes `units / numHeads` contiguous features. Required. */
  numHeads: number;
  /** Reference code to follow; default 'setvae'. */
  variant?: MabVariant;
  /** Post-LayerNorms; default true for 'setvae', false for 'set-transformer' (as the references). */
  layerNorm?: boolean;
  /** 'softmax' over keys (default) or SetVAE's 'slot' attention (App. A.2). */
  attention?: AttentionKind;
  /**
   * Slot attention over padded keys: 'masked' (default) divides by the weights of the valid
   * keys only; 'padded' divides as the SetVAE reference code does, where every padded key adds
   * 1/Nq + 1e-5 (this shrinks padded sets; use it to compare numbers with jw9730/setvae).
   * Only with `attention: 'slot'`.
   */
  slotDenominator?: SlotDenominator;
  /** Seed of the weight initialisers (default: random). */
  seed?: number;
}

/** Validated options of a MAB (shared with the blocks built from it). */
export interface MabOptions {
  units: number;
  numHeads: number;
  variant: MabVariant;
  layerNorm: boolean;
  attention: AttentionKind;
  slotDenominator: SlotDenominator;
}

/** The options of a MAB and of the blocks built from it, with their checks. */
export const MAB_ARGS = {
  units: is.integer(1),
  numHeads: is.integer(1),
  variant: is.oneOf(MAB_VARIANTS),
  layerNorm: is.boolean,
  attention: is.oneOf(ATTENTION_KINDS),
  slotDenominator: is.oneOf(SLOT_DENOMINATORS),
  seed: is.seed,
};

/**
 * Checks the MAB options of `layer` (and the block's own options `extra`) and fills in the
 * defaults; `ConfigError` naming `layer.option` on a bad value or an unknown key.
 */
export function checkMabOptions(
  args: Partial<MultiheadAttentionBlockArgs> | undefined,
  layer: string,
  extra: Record<string, Check<unknown>> = {},
): MabOptions {
  if (!args || typeof args !== 'object')
    throw new ConfigError(`${layer}: expected an options object with units and numHeads`);
  const checked = checkLayerArgs(args, { ...MAB_ARGS, ...extra }, layer);
  const units = checkPositiveInteger(checked.units, `${layer}.units`);
  const numHeads = checkPositiveInteger(checked.numHeads, `${layer}.numHeads`);
  if (units % numHeads !== 0) {
    throw new ConfigError(`${layer}: units (${units}) must be divisible by numHeads (${numHeads})`);
  }
  const variant = checked.variant ?? 'setvae';
  const attention = checked.attention ?? 'softmax';
  const layerNorm = checked.layerNorm ?? variant === 'setvae';
  const slotDenominator = checked.slotDenominator ?? 'masked';
  if (slotDenominator === 'padded' && attention !== 'slot') {
    throw new ConfigError(
      `${layer}.slotDenominator: 'padded' applies to attention 'slot', got attention '${attention}'`,
    );
  }
  return { units, numHeads, variant, layerNorm, attention, slotDenominator };
}

interface MabWeights {
  wq: LayerVariable;
  wk: LayerVariable;
  wv: LayerVariable;
  wo: LayerVariable;
  bq?: LayerVariable;
  bk?: LayerVariable;
  bv?: LayerVariable;
  bo?: LayerVariable;
  ffn1Kernel?: LayerVariable;
  ffn1Bias?: LayerVariable;
  ffn2Kernel?: LayerVariable;
  ffn2Bias?: LayerVariable;
  ln1Gamma?: LayerVariable; // LN0 of 'set-transformer', LN1 of 'setvae'
  ln1Beta?: LayerVariable;
  ln2Gamma?: LayerVariable; // LN1 of 'set-transformer', LN2 of 'setvae'
  ln2Beta?: LayerVariable;
}

/** Per-call options of `MultiheadAttentionBlock.attend`. */
export interface MabCallOptions {
  queryMask?: Tensor2D | null;
  keyMask?: Tensor2D | null;
  returnAttention?: boolean;
}

/**
 * MAB(X, Y): `apply([query [B,Nq,dQ], key [B,Nk,dK]], { mask: [qMask|null, kMask|null],
 * returnAttention? })` → `[B, Nq, dQ]` ('setvae') or `[B, Nq, units]` ('set-transformer');
 * with `returnAttention: true`, `[out, attention [B, H, Nq, Nk]]`.
 *
 * Weights (getWeights/setWeights order, kernels [in, out]):
 *  'setvae':          Wq [dQ,U], Wk [dK,U], Wv [dK,U], Wo [U,dQ], ffn1.kernel [dQ,dQ], ffn1.bias,
 *                     ffn2.kernel [dQ,dQ], ffn2.bias, [ln1.gamma, ln1.beta, ln2.gamma, ln2.beta]
 *  'set-transformer': Wq [dQ,U], bq, Wk [dK,U], bk, Wv [dK,U], bv, Wo [U,U], bo,
 *                     [ln0.gamma, ln0.beta, ln1.gamma, ln1.beta]
 */
export class MultiheadAttentionBlock extends layers.Layer {
  static className = 'SetgenMAB';
  readonly units: number;
  readonly numHeads: number;
  readonly variant: MabVariant;
  readonly layerNorm: boolean;
  readonly attention: AttentionKind;
  readonly slotDenominator: SlotDenominator;
  readonly seed: number | undefined;
  private w: MabWeights | null = null;
  private queryDim = 0;
  private keyDim = 0;

  constructor(args: MultiheadAttentionBlockArgs) {
    const options = checkMabOptions(args, new.target.name);
    super(args);
    this.units = options.units;
    this.numHeads = options.numHeads;
    this.variant = options.variant;
    this.layerNorm = options.layerNorm;
    this.attention = options.attention;
    this.slotDenominator = options.slotDenominator;
    this.seed = args.seed;
  }

  /** Feature width of the output for a query of width `queryDim`. */
  outputDim(queryDim: number): number {
    return this.variant === 'setvae' ? queryDim : this.units;
  }

  private nextSeed(offset: number): number | undefined {
    return this.seed === undefined ? undefined : this.seed + offset;
  }

  private dense(name: string, fanIn: number, fanOut: number, index: number): LayerVariable {
    return this.addWeight(name, [fanIn, fanOut], 'float32', linearInitializer(fanIn, this.nextSeed(index)));
  }

  private bias(name: string, fanIn: number, size: number, index: number): LayerVariable {
    return this.addWeight(name, [size], 'float32', linearInitializer(fanIn, this.nextSeed(index)));
  }

  private norm(name: string, size: number): [LayerVariable, LayerVariable] {
    return [
      this.addWeight(`${name}.gamma`, [size], 'float32', initializers.ones()),
      this.addWeight(`${name}.beta`, [size], 'float32', initializers.zeros()),
    ];
  }

  override build(inputShape: Shape | Shape[]): void {
    const [queryShape, keyShape] = pairOfShapes(inputShape, 'MultiheadAttentionBlock');
    const dq = knownWidth(queryShape, 'query');
    const dk = knownWidth(keyShape, 'key');
    const u = this.units;
    this.queryDim = dq;
    this.keyDim = dk;
    if (this.variant === 'setvae') {
      const w: MabWeights = {
        wq: this.dense('Wq', dq, u, 0),
        wk: this.dense('Wk', dk, u, 1),
        wv: this.dense('Wv', dk, u, 2),
        wo: this.dense('Wo', u, dq, 3),
        ffn1Kernel: this.dense('ffn1.kernel', dq, dq, 4),
        ffn1Bias: this.bias('ffn1.bias', dq, dq, 5),
        ffn2Kernel: this.dense('ffn2.kernel', dq, dq, 6),
        ffn2Bias: this.bias('ffn2.bias', dq, dq, 7),
      };
      if (this.layerNorm) {
        [w.ln1Gamma, w.ln1Beta] = this.norm('ln1', dq);
        [w.ln2Gamma, w.ln2Beta] = this.norm('ln2', dq);
      }
      this.w = w;
    } else {
      const wq = this.dense('Wq', dq, u, 0);
      const bq = this.bias('bq', dq, u, 1);
      const wk = this.dense('Wk', dk, u, 2);
      const bk = this.bias('bk', dk, u, 3);
      const wv = this.dense('Wv', dk, u, 4);
      const bv = this.bias('bv', dk, u, 5);
      const wo = this.dense('Wo', u, u, 6);
      const bo = this.bias('bo', u, u, 7);
      const w: MabWeights = { wq, bq, wk, bk, wv, bv, wo, bo };
      if (this.layerNorm) {
        [w.ln1Gamma, w.ln1Beta] = this.norm('ln0', u);
        [w.ln2Gamma, w.ln2Beta] = this.norm('ln1', u);
      }
      this.w = w;
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [queryShape] = pairOfShapes(inputShape, 'MultiheadAttentionBlock');
    const dq = queryShape[2];
    return [queryShape[0], queryShape[1], this.variant === 'setvae' ? dq : this.units];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const [query, key] = inputList(
      inputs,
      2,
      'MultiheadAttentionBlock',
      'inputs [query [B,Nq,dQ], key [B,Nk,dK]]',
    );
    const [queryMask, keyMask] = masksFromKwargs(kwargs, [query, key], 'MultiheadAttentionBlock');
    const { out, attention } = this.attend(query as Tensor3D, key as Tensor3D, {
      queryMask,
      keyMask,
      returnAttention: kwargs?.returnAttention === true,
    });
    return attention ? [out, attention] : out;
  }

  /**
   * MAB(query, key) with its masks; the typed form of `call` used by the blocks built on it.
   * Checks shapes before any tensor work (`ShapeError`).
   */
  attend(
    query: Tensor3D,
    key: Tensor3D,
    options: MabCallOptions = {},
  ): { out: Tensor3D; attention: Tensor | null } {
    if (!this.built) buildEagerly(this, [query.shape, key.shape]);
    const w = this.w!;
    checkSet(query, this.queryDim, `${this.name} query`);
    checkSet(key, this.keyDim, `${this.name} key`);
    if (key.shape[0] !== query.shape[0]) {
      throw new ShapeError(
        `${this.name}: query ${formatShape(query.shape)} and key ${formatShape(key.shape)} must have the same batch size`,
      );
    }
    const queryMask = checkMask(options.queryMask, query, `${this.name} query mask`);
    const keyMask = checkMask(options.keyMask, key, `${this.name} key mask`);
    const result = tidy(() => {
      // a mask selects (> 0.5: element), and padded rows are replaced by zeros, not multiplied,
      // so neither a mask of 0.3 or 2 nor NaN/Infinity in the padding can leak into a result
      const qMask = queryMask ? elementMask(queryMask) : null;
      const kMask = keyMask === queryMask ? qMask : keyMask ? elementMask(keyMask) : null;
      const x = queryMask ? zeroPadding(query, queryMask) : query;
      // self-attention (SAB, with one mask) zeroes its padding once
      const y = key === query && keyMask === queryMask ? x : keyMask ? zeroPadding(key, keyMask) : key;
      const project = (t: Tensor, kernel: LayerVariable, bias?: LayerVariable, relu = false) =>
        denseProjection(t, kernel.read(), { bias: bias?.read(), relu }) as Tensor3D;
      // x + f, through the LayerNorm when the block has one (post-LN)
      const residual = (t: Tensor, f: Tensor, gamma?: LayerVariable, beta?: LayerVariable) =>
        gamma ? addLayerNormalize(t, f, gamma.read(), beta!.read()) : add(t, f);
      const q = project(x, w.wq, w.bq);
      const k = project(y, w.wk, w.bk);
      const v = project(y, w.wv, w.bv);
      const mh = multiheadAttention(q, k, v, {
        numHeads: this.numHeads,
        attention: this.attention,
        slotDenominator: this.slotDenominator,
        queryMask: qMask,
        keyMask: kMask,
        returnWeights: options.returnAttention === true,
      });
      let out: Tensor;
      if (this.variant === 'setvae') {
        // Eq. 4: A = LN1(X + MH·Wo); Eq. 3: out = LN2(A + FFN(A))
        const a = residual(x, project(mh.values, w.wo), w.ln1Gamma, w.ln1Beta);
        const hidden = project(a, w.ffn1Kernel!, w.ffn1Bias, true);
        out = residual(a, project(hidden, w.ffn2Kernel!, w.ffn2Bias), w.ln2Gamma, w.ln2Beta);
      } else {
        // O = Q' + MH(Q', K', V'); O = O + relu(O·Wo + bo), post-LN after each residual
        out = residual(q, mh.values, w.ln1Gamma, w.ln1Beta);
        out = residual(out, project(out, w.wo, w.bo, true), w.ln2Gamma, w.ln2Beta);
      }
      if (qMask) out = mul(out, expandDims(qMask, 2));
      return mh.weights ? [out, mh.weights] : [out];
    });
    return { out: result[0] as Tensor3D, attention: result[1] ?? null };
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      numHeads: this.numHeads,
      variant: this.variant,
      layerNorm: this.layerNorm,
      attention: this.attention,
      slotDenominator: this.slotDenominator,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
serialization.registerClass(MultiheadAttentionBlock);

/** `new MultiheadAttentionBlock(args)`. */
export function mab(args: MultiheadAttentionBlockArgs): MultiheadAttentionBlock {
  return new MultiheadAttentionBlock(args);
}

/** `[queryShape, keyShape]` from a build/computeOutputShape argument, or `ShapeError`. */
export function pairOfShapes(inputShape: Shape | Shape[], layer: string): [Shape, Shape] {
  const shapes = inputShape as Shape[];
  if (
    !Array.isArray(shapes) ||
    shapes.length !== 2 ||
    !shapes.every((s) => Array.isArray(s) && s.length === 3)
  ) {
    throw new ShapeError(
      `${layer}: expected two input shapes [[B,Nq,dQ], [B,Nk,dK]], got ${JSON.stringify(inputShape)}`,
    );
  }
  return [shapes[0], shapes[1]];
}

/** The feature width of a `[B, N, D]` shape, which must be known to create weights. */
export function knownWidth(shape: Shape, name: string): number {
  const d = shape[2];
  if (typeof d !== 'number' || !(d > 0)) {
    throw new ShapeError(`${name}: the feature width must be known, got shape ${formatShape(shape)}`);
  }
  return d;
}
