// Multi-head scaled dot-product attention on padded sets (Set Transformer Eq. 1–4; the
// Multihead of SetVAE Eq. 4, and its App. A.2 for slot attention). Heads split the feature axis into contiguous
// chunks; the scale is 1/sqrt(units) for all heads, as both reference codes do.

import {
  batchMatMul,
  fusedAttentionAvailable,
  fusedSoftmaxAttention,
  fusedSoftmaxAvailable,
  maskBias,
  maskedSoftmax,
  splitRows,
  swapMiddleAxes,
} from '@setgen/ops/internal';
import {
  add,
  concat,
  div,
  engine,
  expandDims,
  maximum,
  mul,
  ones,
  reshape,
  scalar,
  softmax,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  type Tensor4D,
  tidy,
  transpose,
} from '@tensorflow/tfjs-core';

/** How attention weights are normalised. */
export type AttentionKind = 'softmax' | 'slot';

/**
 * The denominator of slot attention over a padded key set: 'masked' (default) sums the weights
 * of the valid keys only; 'padded' reproduces the SetVAE reference code (jw9730/setvae,
 * `ResidualAttention.compute_attention`), whose padded keys each add 1/Nq + 1e-5 to every
 * query's sum and so shrink the outputs of padded sets (for number-for-number comparisons).
 */
export type SlotDenominator = 'masked' | 'padded';

/** Options of `multiheadAttention`. */
export interface MultiheadAttentionOptions {
  numHeads: number;
  /** 'softmax' over keys (default), or 'slot': softmax over queries, then a weighted mean over keys. */
  attention?: AttentionKind;
  /** Slot attention's denominator over padded keys; default 'masked' (see `SlotDenominator`). */
  slotDenominator?: SlotDenominator;
  /** `[B, Nq]` valid-mask of the queries: outputs and weights there are zero. */
  queryMask?: Tensor2D | null;
  /** `[B, Nk]` valid-mask of the keys: padded keys get no attention. */
  keyMask?: Tensor2D | null;
  /** Also return the attention weights `[B, H, Nq, Nk]`. */
  returnWeights?: boolean;
  /** Largest attention map computed at once, in elements; default 2^24 (64 MB). */
  maxChunkElements?: number;
}

/** What `multiheadAttention` returns. */
export interface MultiheadAttentionResult {
  /** `[B, Nq, units]`, heads concatenated back in order. */
  values: Tensor3D;
  /** `[B, H, Nq, Nk]` when asked for. */
  weights: Tensor4D | null;
}

/** SetVAE's slot-attention denominator adds this to every (valid) weight before the sum. */
const SLOT_EPSILON = 1e-5;
/** Most attention-map elements computed at once; bigger batches run in chunks of B·H slices. */
const MAX_CHUNK_ELEMENTS = 1 << 24;

/** `[B, N, H·d]` → `[B·H, N, d]` (head h = features [h·d, (h+1)·d)): one op, no reshapes. */
function splitHeads(x: Tensor3D, numHeads: number): Tensor3D {
  if (numHeads === 1) return x;
  const [b, n, units] = x.shape;
  const d = units / numHeads;
  return swapMiddleAxes(x, [b, n, numHeads, d], [b * numHeads, n, d]);
}

/** `[B·H, N, d]` → `[B, N, H·d]`. */
function mergeHeads(x: Tensor3D, numHeads: number): Tensor3D {
  if (numHeads === 1) return x;
  const [bh, n, d] = x.shape;
  const b = bh / numHeads;
  return swapMiddleAxes(x, [b, numHeads, n, d], [b, n, numHeads * d]);
}

/** A `[B, N]` mask repeated per head → `[B·H, N]` (a broadcasting product: tfjs-wasm's Tile is slow). */
function maskPerHead(mask: Tensor2D, numHeads: number): Tensor2D {
  if (numHeads === 1) return mask;
  const [b, n] = mask.shape;
  return reshape(mul(reshape(mask, [b, 1, n]), ones([1, numHeads, 1])), [b * numHeads, n]);
}

interface HeadBatch {
  q: Tensor3D; // [C, Nq, d], already scaled unless `logitScale` is given
  k: Tensor3D; // [C, Nk, d]
  v: Tensor3D; // [C, Nk, d]
  queryMask: Tensor2D | null; // [C, Nq]
  keyMask: Tensor2D | null; // [C, Nk]
  /** Slot attention only: count padded keys in the denominator as the reference code does. */
  paddedDenominator?: boolean;
  /** Softmax attention only: the 1/√U scale, applied by the masked softmax instead of to q (default 1). */
  logitScale?: number;
}

/** Softmax attention: A = softmax_keys(s·q kᵀ) (padded keys → 0); out = A v. */
function softmaxAttention({ q, k, v, queryMask, keyMask, logitScale = 1 }: HeadBatch): [Tensor3D, Tensor3D] {
  const logits = batchMatMul(q, k, { transposeB: true }); // [C, Nq, Nk]
  const weights = maskedSoftmax(logits, keyMask, queryMask, logitScale); // one kernel each way on wasm/cpu
  return [batchMatMul(weights, v), weights];
}

/**
 * Slot attention (SetVAE App. A.2): each key distributes itself over the queries,
 * α = softmax_queries(q kᵀ); each query then takes the weighted mean of its keys,
 * out_i = Σ_j α_ij v_j / Σ_j (α_ij + 1e-5). Padded keys are left out of both sums (the
 * reference code counts them in the denominator, which shrinks padded sets); with
 * `paddedDenominator` they are counted as there: a padded key's logits are all masked, so its
 * softmax over the Nq queries is 1/Nq for each, and Σ_j runs over all Nk keys,
 * Σ_j (α_ij + ε) = Σ_valid α_ij + (Nk − n)/Nq + Nk·ε. The returned map is then the reference's α.
 */
function slotAttention({ q, k, v, queryMask, keyMask, paddedDenominator }: HeadBatch): [Tensor3D, Tensor3D] {
  let logitsT = batchMatMul(k, q, { transposeB: true }); // [C, Nk, Nq]: softmax on the last axis
  if (queryMask) logitsT = add(logitsT, expandDims(maskBias(queryMask), 1));
  let weightsT = softmax(logitsT) as Tensor3D;
  if (queryMask) weightsT = mul(weightsT, expandDims(queryMask, 1));
  if (keyMask) weightsT = mul(weightsT, expandDims(keyMask, 2));
  const numerator = batchMatMul(weightsT, v, { transposeA: true }); // [C, Nq, d]
  const [, nk, nq] = weightsT.shape;
  if (paddedDenominator && keyMask) {
    // the reference's α: 1/Nq at every query of a padded key (padded queries included)
    const reference = add(weightsT, expandDims(mul(sub(1, keyMask), 1 / nq), 2)) as Tensor3D;
    const denominator = add(sum(reference, 1), nk * SLOT_EPSILON); // [C, Nq]
    return [div(numerator, expandDims(denominator, 2)) as Tensor3D, transpose(reference, [0, 2, 1])];
  }
  // Σ_j (α_ij + ε) over the n valid keys; ε·max(n, 1) keeps an empty set at 0 instead of 0/0
  const keyCount = keyMask ? maximum(sum(keyMask, 1, true), 1) : scalar(nk);
  const denominator = add(sum(weightsT, 1), mul(keyCount, SLOT_EPSILON)); // [C, Nq]
  const values = div(numerator, expandDims(denominator, 2)) as Tensor3D;
  return [values, transpose(weightsT, [0, 2, 1])];
}

/**
 * Fewest keys for which softmax attention runs fused. Below, the maps are small enough for the
 * unfused ops (at 2 keys they were as fast), and SetVAE's attention over m ≤ 32 inducing
 * points, whose maps its decoder returns by default, is not computed twice (see below).
 */
const MIN_FUSED_KEYS = 64;

/**
 * Whether softmax attention can run fused (`fusedSoftmaxAttention` from @setgen/ops: wasm or
 * cpu, units/numHeads a multiple of 4, at least MIN_FUSED_KEYS keys, queries present): only
 * when no gradient tape is recording, since the kernel has no gradient (training steps keep the
 * unfused ops and their backward).
 */
function fusedForward(q: Tensor3D, k: Tensor3D, numHeads: number): boolean {
  return (
    !engine().isTapeOn() &&
    q.shape[1] > 0 &&
    k.shape[1] >= MIN_FUSED_KEYS &&
    fusedAttentionAvailable(q.shape[2], numHeads)
  );
}

/**
 * MH(q, k, v) for projected queries `q [B, Nq, U]` and keys/values `k, v [B, Nk, U]`:
 * per head, weights from q_h k_hᵀ / sqrt(U), values `weights · v_h`; heads concatenated.
 * The maps are computed in chunks of batch·head slices of at most `maxChunkElements` (at least one slice),
 * so that without a gradient tape the `[B·H, Nq, Nk]` maps never exist at once. Softmax attention
 * without a tape runs fused instead, where available: then no map is ever stored (with
 * `returnWeights` the maps are computed as above, the values still come from the kernel).
 */
export function multiheadAttention(
  q: Tensor3D,
  k: Tensor3D,
  v: Tensor3D,
  {
    numHeads,
    attention = 'softmax',
    slotDenominator = 'masked',
    queryMask = null,
    keyMask = null,
    returnWeights = false,
    maxChunkElements = MAX_CHUNK_ELEMENTS,
  }: MultiheadAttentionOptions,
): MultiheadAttentionResult {
  // forward only, nothing taped: the fused kernel never stores the maps (same masks and scale);
  // with returnWeights the maps come from the ops below, the values still from the kernel, so
  // that asking for the maps never changes the output
  const fused =
    attention === 'softmax' && fusedForward(q, k, numHeads)
      ? fusedSoftmaxAttention(q, k, v, { numHeads, scale: 1 / Math.sqrt(q.shape[2]), queryMask, keyMask })
      : null;
  if (fused && !returnWeights) return { values: fused, weights: null };
  const [values, weights] = tidy(() => {
    const [b, nq, units] = q.shape;
    const nk = k.shape[1];
    const queryHeads = queryMask ? maskPerHead(queryMask, numHeads) : null;
    // the fused masked softmax scales the logits itself (one op fewer each way); the composed
    // ops keep scaling q, as they always have (the same numbers as before)
    const scale = 1 / Math.sqrt(units);
    const scaleInSoftmax = attention === 'softmax' && fusedSoftmaxAvailable();
    const heads: HeadBatch = {
      q: splitHeads(scaleInSoftmax ? q : mul(q, scale), numHeads),
      k: splitHeads(k, numHeads),
      v: splitHeads(v, numHeads),
      queryMask: queryHeads,
      // self-attention passes one mask for both: repeated once
      keyMask: keyMask === queryMask ? queryHeads : keyMask ? maskPerHead(keyMask, numHeads) : null,
      paddedDenominator: slotDenominator === 'padded',
      logitScale: scaleInSoftmax ? scale : 1,
    };
    const attend = attention === 'slot' ? slotAttention : softmaxAttention;
    const total = b * numHeads;
    const mapSize = Math.max(1, nq * nk);
    const chunk = Math.max(1, Math.min(total, Math.floor(maxChunkElements / mapSize)));
    let values: Tensor3D;
    let weights: Tensor3D | null = null;
    if (chunk >= total) {
      [values, weights] = attend(heads);
    } else {
      const sizes = Array.from({ length: Math.ceil(total / chunk) }, (_, i) =>
        Math.min(chunk, total - i * chunk),
      );
      const parts = (t: Tensor | null) => (t ? splitRows(t, sizes) : sizes.map(() => null));
      const [qs, ks, vs, qms, kms] = [heads.q, heads.k, heads.v, heads.queryMask, heads.keyMask].map(parts);
      const outs: Tensor3D[] = [];
      const maps: Tensor3D[] = [];
      sizes.forEach((_, i) => {
        // each chunk in its own scope: without a gradient tape its [c, Nq, Nk] maps are freed at once
        const [o, w] = tidy(() => {
          const [oi, wi] = attend({
            q: qs[i] as Tensor3D,
            k: ks[i] as Tensor3D,
            v: vs[i] as Tensor3D,
            queryMask: qms[i] as Tensor2D | null,
            keyMask: kms[i] as Tensor2D | null,
            paddedDenominator: heads.paddedDenominator,
            logitScale: heads.logitScale,
          });
          return returnWeights ? [oi, wi] : [oi];
        });
        outs.push(o as Tensor3D);
        if (w) maps.push(w as Tensor3D);
      });
      values = concat(outs, 0);
      if (returnWeights) weights = concat(maps, 0);
    }
    const merged = mergeHeads(values, numHeads);
    return returnWeights && weights ? [merged, reshape(weights, [b, numHeads, nq, nk])] : [merged];
  });
  if (fused) values.dispose();
  return { values: fused ?? (values as Tensor3D), weights: (weights as Tensor4D | undefined) ?? null };
}
