// FSPool — featurewise sort pooling (Zhang, Hare & Prügel-Bennett 2020; REFERENCES.md §5).
// Per channel c, sort the n valid values descending and take a weighted sum whose weight for
// the k-th of n is a learned piecewise-linear function w_c evaluated at r = k/(n-1):
//   y_c = Σ_k w_c(k/(n-1)) · sorted_c[k],   w_c(r) = (1-f)·W[c, ⌊K r⌋] + f·W[c, ⌊K r⌋+1].
// FSUnpool (the decoders' transpose) spreads y_c back: x[i, c] = w_c(r_rank(i,c)) · y_c.

import { asSetBatch, ConfigError, formatShape, ShapeError } from '@setgen/ops';
import { batchMatMul, is } from '@setgen/ops/internal';
import {
  expandDims,
  mul,
  serialization,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor3d,
  tidy,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable, layers } from '@tensorflow/tfjs-layers';
import { buildEagerly } from './eager-build.js';
import { checkLayerArgs, type Kwargs, masksFromKwargs, type Shape } from './layer-utils.js';
import { maskedPermutation } from './masked-permutation.js';

/** Options of `FSPool`. */
export interface FSPoolArgs {
  /** Number K of linear pieces of each weight function (K + 1 knots); default 20. */
  numPieces?: number;
  /** Seed of the N(0, 1) weight initialiser (default: random). */
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/** What `pool` returns: the pooled vectors and the sort order that `unpool` reverses. */
export interface FSPoolResult {
  /** `[B, C]`. */
  pooled: Tensor2D;
  /**
   * `[B, N, C]` int32: `permutation[b, k, c]` is the element holding rank k in channel c
   * (valid elements by descending value, then the padded positions in index order).
   */
  permutation: Tensor3D;
}

/** Sort order and piece interpolation of one batch, computed on the host outside the tape. */
interface SortPlan {
  /** Ranked element per (b, k, c), flattened `[B·N·C]`. */
  permutation: Int32Array;
  /** `[B, N, K+1]` interpolation of the knots at each rank (rows ≥ n are zero). */
  interpolation: Float32Array;
  /** Number of valid elements per set. */
  counts: number[];
}

function validCounts(
  mask: Float32Array | Int32Array | Uint8Array | undefined,
  batch: number,
  n: number,
): number[] {
  return Array.from({ length: batch }, (_, b) => {
    if (!mask) return n;
    let count = 0;
    for (let i = 0; i < n; i++) if (mask[b * n + i] > 0.5) count++;
    return count;
  });
}

const floatBits = new Uint32Array(1);
const floatView = new Float32Array(floatBits.buffer);

/** A uint32 that orders float32 values descending: larger values get smaller keys. */
function descendingKey(value: number): number {
  floatView[0] = value;
  const bits = floatBits[0];
  const ascending = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return 0xffffffff - ascending;
}

/**
 * Stable LSD radix sort (4 passes of 8 bits) of `count` pairs by their uint32 `keys`,
 * ascending, in place; `spareKeys`/`spareItems` are scratch of the same length. Stable, so
 * equal keys keep their order: items given in ascending index order stay so among ties.
 */
function radixSortPairs(
  keys: Uint32Array,
  items: Int32Array,
  count: number,
  spareKeys: Uint32Array,
  spareItems: Int32Array,
  histogram: Uint32Array,
): void {
  let [fromKeys, fromItems, toKeys, toItems] = [keys, items, spareKeys, spareItems];
  for (let shift = 0; shift < 32; shift += 8) {
    histogram.fill(0);
    for (let k = 0; k < count; k++) histogram[(fromKeys[k] >>> shift) & 255]++;
    let start = 0;
    for (let digit = 0; digit < 256; digit++) {
      const size = histogram[digit];
      histogram[digit] = start;
      start += size;
    }
    for (let k = 0; k < count; k++) {
      const key = fromKeys[k];
      const at = histogram[(key >>> shift) & 255]++;
      toKeys[at] = key;
      toItems[at] = fromItems[k];
    }
    [fromKeys, fromItems, toKeys, toItems] = [toKeys, toItems, fromKeys, fromItems];
  }
  // an even number of passes leaves the sorted pairs in `keys` and `items`
}

/** Knot weights of the piecewise-linear function at the ranks 0..n-1 of a set of size n. */
function fillInterpolation(target: Float32Array, offset: number, n: number, pieces: number): void {
  for (let k = 0; k < n; k++) {
    const r = n === 1 ? 0 : k / (n - 1); // r = 0 when n = 1: the padding is not pooled (documented fix)
    const t = pieces * r;
    const knot = Math.min(Math.floor(t), pieces);
    const f = t - knot;
    target[offset + k * (pieces + 1) + knot] += 1 - f;
    if (f > 0) target[offset + k * (pieces + 1) + knot + 1] += f;
  }
}

/**
 * FSPool. Weights: `weight [C, numPieces + 1]`, init N(0, 1) as the reference. Input
 * `[B, N, C]` with an optional `kwargs.mask [B, N]` → `[B, C]`. The sort (a stable radix sort)
 * runs on the host on detached values; the values are then permuted by an op whose gradient is
 * the adjoint permutation, so gradients of any order reach x and the weights on every backend.
 * Relaxed (NeuralSort) sorting is not offered.
 */
export class FSPool extends layers.Layer {
  static className = 'SetgenFSPool';
  readonly numPieces: number;
  readonly seed: number | undefined;
  private weight: LayerVariable | null = null;

  constructor(args: FSPoolArgs = {}) {
    const checked = checkLayerArgs(args, { numPieces: is.integer(1), seed: is.seed }, 'FSPool');
    super(args);
    this.numPieces = checked.numPieces ?? 20;
    this.seed = checked.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[shape.length - 1];
    if (shape.length !== 3 || channels === null) {
      throw new ShapeError(
        `FSPool: expected input shape [B, N, C] with a known C, got ${formatShape(shape)}`,
      );
    }
    this.weight = this.addWeight(
      'weight',
      [channels, this.numPieces + 1],
      'float32',
      initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed }),
    );
    this.built = true;
  }

  private checkInput(x: Tensor3D, mask: Tensor2D | null | undefined): void {
    asSetBatch(mask ? { x, mask } : x, 'x');
    if (!this.built) buildEagerly(this, x.shape);
    const channels = this.weight!.shape[0];
    if (x.shape[2] !== channels) {
      throw new ShapeError(
        `FSPool: x must have ${channels} channels (built for [B, N, ${channels}]), got ${formatShape(x.shape)}`,
      );
    }
  }

  /** Descending per-channel sort of the valid elements, and the piece interpolation per rank. */
  private plan(x: Tensor3D, mask: Tensor2D | null | undefined): SortPlan {
    const [batch, n, channels] = x.shape;
    const values = x.dataSync();
    const maskValues = mask ? mask.dataSync() : undefined;
    const counts = validCounts(maskValues as Float32Array | undefined, batch, n);
    const pieces = this.numPieces;
    const permutation = new Int32Array(batch * n * channels);
    const interpolation = new Float32Array(batch * n * (pieces + 1));
    const valid = new Int32Array(n);
    const padded = new Int32Array(n);
    const [keys, spareKeys] = [new Uint32Array(n), new Uint32Array(n)];
    const [items, spareItems] = [new Int32Array(n), new Int32Array(n)];
    const histogram = new Uint32Array(256);
    for (let b = 0; b < batch; b++) {
      let numValid = 0;
      let numPadded = 0;
      for (let i = 0; i < n; i++) {
        if (maskValues && !(maskValues[b * n + i] > 0.5)) padded[numPadded++] = i;
        else valid[numValid++] = i;
      }
      for (let c = 0; c < channels; c++) {
        for (let k = 0; k < numValid; k++) {
          keys[k] = descendingKey(values[(b * n + valid[k]) * channels + c]);
          items[k] = valid[k];
        }
        radixSortPairs(keys, items, numValid, spareKeys, spareItems, histogram);
        const base = b * n * channels + c;
        for (let k = 0; k < numValid; k++) permutation[base + k * channels] = items[k];
        for (let k = 0; k < numPadded; k++) permutation[base + (numValid + k) * channels] = padded[k];
      }
      fillInterpolation(interpolation, b * n * (pieces + 1), counts[b], pieces);
    }
    return { permutation, interpolation, counts };
  }

  /** `[B, N, C]` weights w_c(r_k) at each rank k (zero beyond n), differentiable in W. */
  private rankWeights(interpolation: Float32Array, batch: number, n: number): Tensor3D {
    const knots = tensor3d(interpolation, [batch, n, this.numPieces + 1]);
    return batchMatMul(knots, this.weight!.read(), { transposeB: true });
  }

  /** `x [B, N, C]` (+ mask) → `{ pooled [B, C], permutation [B, N, C] }`. */
  pool(x: Tensor3D, mask?: Tensor2D | null): FSPoolResult {
    this.checkInput(x, mask);
    const [batch, n, channels] = x.shape;
    const { permutation, interpolation, counts } = this.plan(x, mask);
    return tidy(() => {
      // padded ranks read nothing (-1 → 0), so whatever the padding holds (even NaN) is ignored
      const rows = new Int32Array(permutation.length);
      for (let b = 0; b < batch; b++) {
        for (let k = 0; k < n; k++) {
          for (let c = 0; c < channels; c++) {
            const at = (b * n + k) * channels + c;
            rows[at] = k < counts[b] ? (b * n + permutation[at]) * channels + c : -1;
          }
        }
      }
      const sorted = maskedPermutation(x, rows, [batch, n, channels]);
      const pooled = sum(mul(sorted, this.rankWeights(interpolation, batch, n)), 1) as Tensor2D;
      return { pooled, permutation: tensor3d(permutation, [batch, n, channels], 'int32') };
    });
  }

  /**
   * FSUnpool: `pooled [B, C]` back to `[B, N, C]` in the original element order, with
   * x[b, i, c] = w_c(r_k) · pooled[b, c] where k is element i's rank in channel c; zero at padding.
   * `mask` must be the one given to `pool` (it fixes n).
   */
  unpool(pooled: Tensor2D, permutation: Tensor3D, mask?: Tensor2D | null): Tensor3D {
    if (!this.built)
      throw new ConfigError('FSPool.unpool: the layer has no weights yet; call pool (or apply) first');
    const channels = this.weight!.shape[0];
    if (pooled?.rank !== 2 || pooled.shape[1] !== channels) {
      throw new ShapeError(
        `pooled: expected [B, ${channels}], got ${pooled ? formatShape(pooled.shape) : typeof pooled}`,
      );
    }
    const batch = pooled.shape[0];
    if (permutation?.rank !== 3 || permutation.shape[0] !== batch || permutation.shape[2] !== channels) {
      throw new ShapeError(
        `permutation: expected [${batch}, N, ${channels}], got ${permutation ? formatShape(permutation.shape) : typeof permutation}`,
      );
    }
    const n = permutation.shape[1];
    if (mask && (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== n)) {
      throw new ShapeError(
        `mask: expected [${batch}, ${n}] to match permutation, got ${formatShape(mask.shape)}`,
      );
    }
    const order = permutation.dataSync();
    const counts = validCounts(mask ? (mask.dataSync() as Float32Array) : undefined, batch, n);
    const rankRows = new Int32Array(order.length);
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < n; k++) {
        for (let c = 0; c < channels; c++) {
          const element = order[(b * n + k) * channels + c];
          if (!(element >= 0 && element < n)) {
            throw new ShapeError(
              `permutation[${b}, ${k}, ${c}]: expected an element index in [0, ${n}), got ${element}`,
            );
          }
          rankRows[(b * n + element) * channels + c] = (b * n + k) * channels + c;
        }
      }
    }
    const interpolation = new Float32Array(batch * n * (this.numPieces + 1));
    for (const [b, count] of counts.entries()) {
      fillInterpolation(interpolation, b * n * (this.numPieces + 1), count, this.numPieces);
    }
    return tidy(() => {
      const ranked = mul(this.rankWeights(interpolation, batch, n), expandDims(pooled, 1));
      return maskedPermutation(ranked, rankRows, [batch, n, channels]) as Tensor3D;
    });
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor2D {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor3D;
    const { pooled, permutation } = this.pool(x, masksFromKwargs(kwargs, [x], 'FSPool')[0]);
    permutation.dispose();
    return pooled;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0], shape[shape.length - 1]];
  }

  override getConfig() {
    const config = { ...super.getConfig(), numPieces: this.numPieces };
    return this.seed === undefined ? config : { ...config, seed: this.seed };
  }
}
serialization.registerClass(FSPool);

/** `new FSPool(args)`. */
export function fspool(args: FSPoolArgs = {}): FSPool {
  return new FSPool(args);
}
