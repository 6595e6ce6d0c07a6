// FiLM — feature-wise linear modulation (Perez et al. 2018): FiLM(x | c) = γ(c) ⊙ x + β(c),
// with γ, β affine in the condition c. Top-n modulates its selected reference points this
// way with c = n·s (Top-n paper §4; `lin1`, `lin2` in set_generators.py).

import { formatShape, ShapeError } from '@setgen/ops';
import { batchMatMul, checkFloat32, is, zeroPadding } from '@setgen/ops/internal';
import { add, expandDims, mul, serialization, type Tensor, tidy } from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable, layers } from '@tensorflow/tfjs-layers';
import { checkLayerArgs, type Kwargs, masksFromKwargs, type Shape } from './layer-utils.js';
import { linearInitializer } from './linear-init.js';

/** The four tensors of a FiLM: γ = c·gammaKernel + gammaBias, β = c·betaKernel + betaBias. */
export interface FiLMWeights {
  gammaKernel: Tensor;
  gammaBias: Tensor;
  betaKernel: Tensor;
  betaBias: Tensor;
}

/**
 * `γ(c) ⊙ x + β(c)` for `x [B, C]` or `[B, N, C]` and a condition `c [B, Dc]` (one per set,
 * broadcast over its elements) or `[B, N, Dc]` (one per element). Kernels `[Dc, C]`.
 */
export function featureWiseLinearModulation(x: Tensor, condition: Tensor, weights: FiLMWeights): Tensor {
  return tidy(() => {
    let gamma = add(batchMatMul(condition, weights.gammaKernel), weights.gammaBias);
    let beta = add(batchMatMul(condition, weights.betaKernel), weights.betaBias);
    if (x.rank === 3 && condition.rank === 2) {
      gamma = expandDims(gamma, 1);
      beta = expandDims(beta, 1);
    }
    return add(mul(gamma, x), beta);
  });
}

/** Options of `FiLM`. */
export interface FiLMArgs {
  /**
   * Initial bias of γ; default 1, so a fresh layer starts near the identity. (Top-n's
   * `nn.Linear` layers start from PyTorch's U(±1/sqrt(Dc)) instead.)
   */
  gammaBiasInit?: number;
  /** Seed of the kernel initialisers (default: random). */
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * FiLM as a layer: inputs `[x, c]` with `x [B, C]` or `[B, N, C]` and `c [B, Dc]` or
 * `[B, N, Dc]`; `kwargs.mask = [xMask, null]` zeroes padded rows of x. Weights (in order):
 * `gamma.kernel [Dc, C]`, `gamma.bias [C]`, `beta.kernel [Dc, C]`, `beta.bias [C]`. Kernels
 * start from U(±1/sqrt(Dc)), β's bias from 0.
 */
export class FiLM extends layers.Layer {
  static className = 'SetgenFiLM';
  readonly gammaBiasInit: number;
  readonly seed: number | undefined;
  private weightsOf: {
    gammaKernel: LayerVariable;
    gammaBias: LayerVariable;
    betaKernel: LayerVariable;
    betaBias: LayerVariable;
  } | null = null;

  constructor(args: FiLMArgs = {}) {
    const checked = checkLayerArgs(args, { gammaBiasInit: is.number(), seed: is.seed }, 'FiLM');
    super(args);
    this.gammaBiasInit = checked.gammaBiasInit ?? 1;
    this.seed = checked.seed;
  }

  private static shapes(inputShape: Shape | Shape[]): [Shape, Shape] {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new ShapeError(
        `FiLM: expected two inputs [x, condition], got shape ${JSON.stringify(inputShape)}`,
      );
    }
    return inputShape as [Shape, Shape];
  }

  override build(inputShape: Shape | Shape[]): void {
    const [xShape, cShape] = FiLM.shapes(inputShape);
    const channels = xShape[xShape.length - 1];
    const conditionDim = cShape[cShape.length - 1];
    if (channels === null || conditionDim === null) {
      throw new ShapeError(
        `FiLM: the last dimensions of x and condition must be known, got ${formatShape(xShape)} and ${formatShape(cShape)}`,
      );
    }
    const kernelInit = (offset: number) =>
      linearInitializer(conditionDim, this.seed === undefined ? undefined : this.seed + offset);
    this.weightsOf = {
      gammaKernel: this.addWeight('gamma/kernel', [conditionDim, channels], 'float32', kernelInit(0)),
      gammaBias: this.addWeight(
        'gamma/bias',
        [channels],
        'float32',
        initializers.constant({ value: this.gammaBiasInit }),
      ),
      betaKernel: this.addWeight('beta/kernel', [conditionDim, channels], 'float32', kernelInit(1)),
      betaBias: this.addWeight('beta/bias', [channels], 'float32', initializers.zeros()),
    };
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new ShapeError('FiLM: expected two inputs [x, condition]');
    }
    const [x, condition] = inputs;
    const [xMask] = masksFromKwargs(kwargs, [x, condition], 'FiLM');
    checkFloat32(x, 'FiLM x');
    checkFloat32(condition, 'FiLM condition');
    const w = this.weightsOf!;
    if (
      (x.rank !== 2 && x.rank !== 3) ||
      (condition.rank !== 2 && condition.rank !== 3) ||
      condition.rank > x.rank ||
      x.shape[0] !== condition.shape[0] ||
      (condition.rank === 3 && x.shape[1] !== condition.shape[1]) ||
      x.shape[x.rank - 1] !== w.gammaKernel.shape[1] ||
      condition.shape[condition.rank - 1] !== w.gammaKernel.shape[0]
    ) {
      throw new ShapeError(
        `FiLM: expected x [B, (N,) ${w.gammaKernel.shape[1]}] and condition [B, ${w.gammaKernel.shape[0]}] or [B, N, ${w.gammaKernel.shape[0]}], got ${formatShape(x.shape)} and ${formatShape(condition.shape)}`,
      );
    }
    return tidy(() => {
      const out = featureWiseLinearModulation(x, condition, {
        gammaKernel: w.gammaKernel.read(),
        gammaBias: w.gammaBias.read(),
        betaKernel: w.betaKernel.read(),
        betaBias: w.betaBias.read(),
      });
      // selected, not multiplied: NaN in padded rows (of x or a per-element condition) stays out
      return xMask ? zeroPadding(out, xMask) : out;
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return FiLM.shapes(inputShape)[0];
  }

  override getConfig() {
    const config = { ...super.getConfig(), gammaBiasInit: this.gammaBiasInit };
    return this.seed === undefined ? config : { ...config, seed: this.seed };
  }
}
serialization.registerClass(FiLM);

/** `new FiLM(args)`. */
export function film(args: FiLMArgs = {}): FiLM {
  return new FiLM(args);
}
