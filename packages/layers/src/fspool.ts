// FSPool — featurewise sort pooling (Zhang, Hare & Prügel-Bennett 2020; REFERENCES.md §5).
// Per channel c, sort the n valid values descending and take a weighted sum whose weight for
// the k-th of n is a learned piecewise-linear function w_c evaluated at r = k/(n-1):
//   y_c = Σ_k w_c(k/(n-1)) · sorted_c[k],   w_c(r) = (1-f)·W[c, ⌊K r⌋] + f·W[c, ⌊K r⌋+1].
// FSUnpool (the decoders' transpose) spreads y_c back: x[i, c] = w_c(r_rank(i,c)) · y_c.

import { asSetBatch, batchMatMul, ConfigError, formatShape, gatherRows, ShapeError } from '@setgen/ops';
import {
  concat,
  expandDims,
  mul,
  reshape,
  serialization,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tensor1d,
  tensor3d,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable, layers } from '@tensorflow/tfjs-layers';
import { buildEagerly } from './eager-build.js';
import { type Kwargs, masksFromKwargs, type Shape } from './layer-utils.js';
import { registerScatterNdGradient } from './scatter-nd-gradient.js';

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
    for (let i = 0; i < n; i++) if (mask[b * n + i] > 0) count++;
    return count;
  });
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
 * `[B, N, C]` with an optional `kwargs.mask [B, N]` → `[B, C]`. The sort runs on the host on
 * detached values; the sorted values are gathered with a row gather so gradients reach x
 * (and the weights) on every backend. Relaxed (NeuralSort) sorting is not offered.
 */
export class FSPool extends layers.Layer {
  static className = 'SetgenFSPool';
  readonly numPieces: number;
  readonly seed: number | undefined;
  private weight: LayerVariable | null = null;

  constructor(args: FSPoolArgs = {}) {
    super(args);
    this.numPieces = args.numPieces ?? 20;
    if (!Number.isInteger(this.numPieces) || this.numPieces < 1) {
      throw new ConfigError(
        `FSPool: numPieces must be a positive integer, got ${JSON.stringify(args.numPieces)}`,
      );
    }
    if (args.seed !== undefined && !Number.isInteger(args.seed)) {
      throw new ConfigError(`FSPool: seed must be an integer, got ${args.seed}`);
    }
    this.seed = args.seed;
    registerScatterNdGradient();
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
    const valid: number[] = [];
    const padded: number[] = [];
    for (let b = 0; b < batch; b++) {
      valid.length = 0;
      padded.length = 0;
      for (let i = 0; i < n; i++) (maskValues && !(maskValues[b * n + i] > 0) ? padded : valid).push(i);
      for (let c = 0; c < channels; c++) {
        const at = (i: number) => values[(b * n + i) * channels + c];
        const order = valid
          .slice()
          .sort((i, j) => at(j) - at(i) || i - j)
          .concat(padded);
        for (let k = 0; k < n; k++) permutation[(b * n + k) * channels + c] = order[k];
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
      // padded ranks read an appended zero, so whatever the padding holds (even NaN) is ignored
      const zeroRow = batch * n * channels;
      const rows = new Int32Array(permutation.length);
      for (let b = 0; b < batch; b++) {
        for (let k = 0; k < n; k++) {
          for (let c = 0; c < channels; c++) {
            const at = (b * n + k) * channels + c;
            rows[at] = k < counts[b] ? (b * n + permutation[at]) * channels + c : zeroRow;
          }
        }
      }
      const column = concat([reshape(x, [-1, 1]), zeros([1, 1])]);
      const sorted = reshape(gatherRows(column, tensor1d(rows, 'int32')), [batch, n, channels]);
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
      return reshape(gatherRows(reshape(ranked, [-1, 1]), tensor1d(rankRows, 'int32')), [
        batch,
        n,
        channels,
      ]) as Tensor3D;
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
