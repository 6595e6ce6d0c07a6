// FSEncoder — the set encoder g of DSPN (Zhang et al. 2019, §3–4; REFERENCES.md §4.3) and of
// the TSPN port (§6): an element-wise MLP (the reference's kernel-size-1 convolutions) then
// FSPool (§5.1). Two variants, because the two reference codes differ:
//  'dspn' (Cyanogenoid/dspn FSEncoder): h_i = W3·relu(W2·relu(W1·[x_i, m_i])) / N, then
//         FSPool over ALL N positions (padding is pooled; the mask only enters as a channel).
//         The mask may be soft (DSPN's m̂ ∈ [0, 1]); gradients reach x and m to any order.
//  'tspn' (LukeBolly/tf-tspn FSEncoder): h_i = W3·lrelu(W2·lrelu(W1·x_i)) (α = 0.2), FSPool
//         over the valid elements only (mask > 0); padding never changes the result.
// `relational: true` (DSPN's RNFSEncoder, CLEVR): every ordered pair (i, j) gives
//  h_ij = W2·relu(W1·[x_i, m_i, x_j, m_j]) / N², pooled over the N² pairs.

import { ConfigError, formatShape, ShapeError } from '@setgen/ops';
import { batchMatMul, checkFloat32, checkPositiveInteger, is } from '@setgen/ops/internal';
import {
  concat,
  div,
  expandDims,
  greater,
  leakyRelu,
  ones,
  reshape,
  scalar,
  serialization,
  slice,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tidy,
  tile,
  where,
  zerosLike,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable } from '@tensorflow/tfjs-layers';
import { ComposedLayer, type WeightPart } from './composed-layer.js';
import { denseProjection, reluBackward } from './dense-projection.js';
import { buildEagerly } from './eager-build.js';
import { FSPool } from './fspool.js';
import {
  buildSublayer,
  checkLayerArgs,
  checkMask,
  type Kwargs,
  masksFromKwargs,
  type Shape,
} from './layer-utils.js';

/** The two reference encoders (see the file header). */
export const FS_ENCODER_VARIANTS = ['dspn', 'tspn'] as const;
/** Which reference's FSPool encoder to follow: `'dspn'` or `'tspn'`. */
export type FSEncoderVariant = (typeof FS_ENCODER_VARIANTS)[number];

/** Leaky-ReLU slope of the TSPN variant (`tf.nn.leaky_relu`'s default). */
export const TSPN_LEAKY_SLOPE = 0.2;

/** Options of `FSEncoder`. */
export interface FSEncoderArgs {
  /** Width of the element-wise hidden layers (DSPN `dim`: 256 MNIST, 512 CLEVR). */
  hiddenUnits: number;
  /** Width of the pooled representation (DSPN `latent`: 64 MNIST). */
  outputDim: number;
  /** FSPool pieces; default 20. */
  numPieces?: number;
  /** Default 'dspn'. */
  variant?: FSEncoderVariant;
  /** Pairs instead of elements (DSPN's RNFSEncoder; 'dspn' variant only). Default false. */
  relational?: boolean;
  /** Seed of the initialisers (Xavier-uniform kernels, zero biases, FSPool N(0, 1)). */
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Set encoder g: `x [B, N, C]` (+ `mask [B, N]`) → `[B, outputDim]`. Weights, in order:
 * `dense1.kernel [in, h]`, `dense1.bias`, `dense2.kernel`, `dense2.bias`, (`dense3.kernel
 * [h, out]`, `dense3.bias` — not in the relational variant), `fspool.weight [out, K+1]`.
 * `in` = C + 1 ('dspn', mask channel last), C ('tspn'), 2(C + 1) (relational). From PyTorch's
 * Conv1d weight `[out, in, 1]` take `w[:, :, 0]ᵀ`; from Keras' Conv1D `[1, in, out]` take `w[0]`.
 */
export class FSEncoder extends ComposedLayer {
  static className = 'SetgenFSEncoder';
  readonly hiddenUnits: number;
  readonly outputDim: number;
  readonly numPieces: number;
  readonly variant: FSEncoderVariant;
  readonly relational: boolean;
  readonly seed: number | undefined;
  readonly fspool: FSPool;
  private dense: { kernel: LayerVariable; bias: LayerVariable }[] = [];
  private inputDim = 0;

  constructor(args: FSEncoderArgs) {
    const checked = checkLayerArgs(
      args,
      {
        hiddenUnits: is.integer(1),
        outputDim: is.integer(1),
        numPieces: is.integer(1),
        variant: is.oneOf(FS_ENCODER_VARIANTS),
        relational: is.boolean,
        seed: is.seed,
      },
      'FSEncoder',
    );
    super(args);
    this.hiddenUnits = checkPositiveInteger(checked.hiddenUnits, 'FSEncoder.hiddenUnits');
    this.outputDim = checkPositiveInteger(checked.outputDim, 'FSEncoder.outputDim');
    this.numPieces = checked.numPieces ?? 20;
    this.variant = checked.variant ?? 'dspn';
    this.relational = checked.relational ?? false;
    if (this.relational && this.variant !== 'dspn') {
      throw new ConfigError("FSEncoder: relational pairs exist only in the 'dspn' variant (RNFSEncoder)");
    }
    this.seed = checked.seed;
    this.fspool = new FSPool({
      numPieces: this.numPieces,
      seed: this.seed === undefined ? undefined : this.seed + 7,
      name: 'fspool',
    });
  }

  /** Feature width of the rows fed to the first dense layer, for sets of C features. */
  private rowWidth(setDim: number): number {
    const element = this.variant === 'dspn' ? setDim + 1 : setDim;
    return this.relational ? 2 * element : element;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const setDim = shape[2];
    if (shape.length !== 3 || setDim === null || setDim === undefined) {
      throw new ShapeError(
        `FSEncoder: expected input shape [B, N, C] with a known C, got ${formatShape(shape)}`,
      );
    }
    this.inputDim = setDim;
    const widths = this.relational
      ? [this.rowWidth(setDim), this.hiddenUnits, this.outputDim]
      : [this.rowWidth(setDim), this.hiddenUnits, this.hiddenUnits, this.outputDim];
    this.dense = widths.slice(1).map((units, i) => ({
      kernel: this.addWeight(
        `dense${i + 1}.kernel`,
        [widths[i], units],
        'float32',
        initializers.glorotUniform({ seed: this.seed === undefined ? undefined : this.seed + i }),
      ),
      bias: this.addWeight(`dense${i + 1}.bias`, [units], 'float32', initializers.zeros()),
    }));
    buildSublayer(this.fspool, this.name, [shape[0], null, this.outputDim]);
    this.built = true;
  }

  protected weightOrder(): WeightPart[] {
    return [...this.dense.flatMap((d) => [d.kernel, d.bias]), this.fspool];
  }

  private checkInput(x: Tensor3D, mask: Tensor2D | null | undefined): void {
    if (!(typeof x === 'object' && x !== null && 'rank' in x) || x.rank !== 3) {
      throw new ShapeError(
        `x: expected a Tensor3D [B, N, C], got ${x && 'shape' in x ? formatShape(x.shape) : typeof x}`,
      );
    }
    checkFloat32(x, 'x');
    checkMask(mask, x, 'mask');
    if (!this.built) buildEagerly(this, x.shape);
    if (x.shape[2] !== this.inputDim) {
      throw new ShapeError(
        `x: FSEncoder was built for sets of ${this.inputDim} features, got ${formatShape(x.shape)}`,
      );
    }
  }

  /** The element-wise MLP's activations on rows `[B, M, in]`, the last one its output. */
  private activations(rows: Tensor3D): Tensor3D[] {
    const hs: Tensor3D[] = [];
    let h = rows;
    this.dense.forEach(({ kernel, bias }, i) => {
      const last = i === this.dense.length - 1;
      if (last) h = denseProjection(h, kernel.read(), { bias: bias.read() });
      else if (this.variant === 'dspn')
        h = denseProjection(h, kernel.read(), { bias: bias.read(), relu: true });
      else h = leakyRelu(denseProjection(h, kernel.read(), { bias: bias.read() }), TSPN_LEAKY_SLOPE);
      hs.push(h);
    });
    return hs;
  }

  /** The element-wise MLP on rows `[B, M, in]`: ReLU (dspn) or leaky ReLU (tspn) between layers. */
  private mlp(rows: Tensor3D): Tensor3D {
    return this.activations(rows)[this.dense.length - 1];
  }

  /** Ordered pairs `[B, N², 2F]` of the rows `[B, N, F]`: pair (i, j) at i·N + j is [e_i, e_j]. */
  private pairs(rows: Tensor3D): Tensor3D {
    const [b, n, f] = rows.shape;
    const left = tile(expandDims(rows, 2), [1, 1, n, 1]);
    const right = tile(expandDims(rows, 1), [1, n, 1, 1]);
    return reshape(concat([left, right], 3), [b, n * n, 2 * f]);
  }

  /**
   * `x [B, N, C]`, `mask [B, N]` (default all ones; may be soft in 'dspn') → `[B, outputDim]`.
   * Differentiable to any order in x, mask and the weights.
   */
  encode(x: Tensor3D, mask?: Tensor2D | null): Tensor2D {
    this.checkInput(x, mask);
    return tidy(() => {
      const [b, n] = x.shape;
      const m = mask ?? (ones([b, n]) as Tensor2D);
      if (this.variant === 'tspn') {
        const valid = greater(expandDims(m, 2), 0);
        const clean = where(valid, x, zerosLike(x)) as Tensor3D;
        return this.fspool.pool(this.mlp(clean), m).pooled;
      }
      let rows = concat([x, expandDims(m, 2)], 2) as Tensor3D;
      if (this.relational) rows = this.pairs(rows);
      // normalise by the padded length (N, or N² pairs) so activations stay small (§4.3)
      const h = div(this.mlp(rows), scalar(rows.shape[1])) as Tensor3D;
      const { pooled, permutation } = this.fspool.pool(h, null);
      permutation.dispose();
      return pooled;
    });
  }

  /**
   * g(x, m) and the gradient of a loss of it w.r.t. x and m, written out ('dspn' variant over
   * elements): with ∂L/∂g = `lossGradient(g)`, back through FSPool (for a fixed sort its
   * adjoint is FSUnpool: ∂L/∂h = unpool(∂L/∂g)), the ÷N and the MLP (∂L/∂hₗ₋₁ = ∂L/∂hₗ·Wₗᵀ
   * through the ReLU gates). Every product is an op on the tape, so an outer gradient
   * differentiates through it (DSPN's second order, Eq. 4) running only the products it needs;
   * a nested `tf.grads` would also form ∂L/∂W of every layer and keep more of each pass.
   * Returns `{ encoded [B, outputDim], dx [B, N, C], dmask [B, N] }`.
   */
  encodeWithInputGradient(
    x: Tensor3D,
    mask: Tensor2D | null | undefined,
    lossGradient: (encoded: Tensor2D) => Tensor2D,
  ): { encoded: Tensor2D; dx: Tensor3D; dmask: Tensor2D } {
    if (this.variant !== 'dspn' || this.relational) {
      throw new ConfigError(
        "FSEncoder.encodeWithInputGradient: only the 'dspn' variant over elements (not relational)",
      );
    }
    this.checkInput(x, mask);
    return tidy(() => {
      const [b, n, c] = x.shape;
      const m = mask ?? (ones([b, n]) as Tensor2D);
      const hs = this.activations(concat([x, expandDims(m, 2)], 2) as Tensor3D);
      const scale = scalar(n);
      const { pooled, permutation } = this.fspool.pool(div(hs[hs.length - 1], scale) as Tensor3D, null);
      const dEncoded = lossGradient(pooled);
      let dh = div(this.fspool.unpool(dEncoded, permutation, null), scale) as Tensor3D;
      for (let i = this.dense.length - 1; i >= 0; i--) {
        dh = batchMatMul(dh, this.dense[i].kernel.read(), { transposeB: true });
        if (i > 0) dh = reluBackward(dh, hs[i - 1]);
      }
      return {
        encoded: pooled,
        dx: slice(dh, [0, 0, 0], [b, n, c]),
        dmask: reshape(slice(dh, [0, 0, c], [b, n, 1]), [b, n]) as Tensor2D,
      };
    });
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor2D {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor3D;
    return this.encode(x, masksFromKwargs(kwargs, [x], 'FSEncoder')[0]);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0], this.outputDim];
  }

  override getConfig() {
    const config = {
      ...super.getConfig(),
      hiddenUnits: this.hiddenUnits,
      outputDim: this.outputDim,
      numPieces: this.numPieces,
      variant: this.variant,
      relational: this.relational,
    };
    return this.seed === undefined ? config : { ...config, seed: this.seed };
  }
}
serialization.registerClass(FSEncoder);

/** `new FSEncoder(args)`. */
export function fsEncoder(args: FSEncoderArgs): FSEncoder {
  return new FSEncoder(args);
}
