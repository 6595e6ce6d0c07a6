// Top-n creation (Vignac & Frossard, ICLR 2022, §4 Eq. 5–10; REFERENCES.md §7.1). A learned
// reference set of n0 points, each with an "angle" vector; z picks the n points whose angles
// best match a direction a(z), and modulates them by their scores:
//   a = MLP(z) / (‖MLP(z)‖ + 1e-5)                                         (Eq. 5)
//   c_i = Angles_i · a   ('dot', the reference code)   or   c_i = Angles_i · a / ‖Angles_i‖
//         ('cosine', Eq. 6 as written: the code normalises the angles at init only)
//   s = softmax(c) over the n0 reference points;  idx = top-n(s) (descending)   (Eq. 7–8)
//   x_k = (n·s_k Wα + bα) ⊙ Points[idx_k] + (n·s_k Wβ + bβ)                (Eq. 9, FiLM on n·s)
//   optionally x_k ← (z Wγ + bγ) ⊙ x_k + (z Wδ + bδ)                         (Eq. 10, latent FiLM)
// The choice of idx is discrete (made on the host); gradients reach z and the angles
// through the scores s, and the points through the one-hot selection.

import { ConfigError, Random, ShapeError } from '@setgen/ops';
import { batchMatMul, checkPositiveInteger, is } from '@setgen/ops/internal';
import {
  add,
  div,
  expandDims,
  mul,
  norm,
  reshape,
  serialization,
  softmax,
  sum,
  type Tensor2D,
  type Tensor3D,
  tensor1d,
  tensor2d,
  tidy,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable } from '@tensorflow/tfjs-layers';
import { buildEagerly } from './eager-build.js';
import { featureWiseLinearModulation } from './film.js';
import type { Shape } from './layer-utils.js';
import { linearInitializer } from './linear-init.js';
import { residualMlp, type SetCreationArgs, SetCreationLayer } from './set-creation.js';

/** Options of `TopNCreation`. */
export interface TopNCreationArgs extends SetCreationArgs {
  /** Number n0 of reference points: the largest set it can create. */
  referenceSize: number;
  /** Dimension of the angle vectors (Top-n's `cosine_channels`: 3 synthetic, 4 molecules). */
  angleDim: number;
  /** Training maximum: the padded length of the output (sizes up to referenceSize still work). */
  maxSize: number;
  /** Width of the two-layer angle MLP; default 32, as the reference. */
  angleHiddenUnits?: number;
  /**
   * Scores before the softmax: `'dot'` = Angles·a (default; the reference code, whose angles
   * are unit vectors at init only) or `'cosine'` = Angles·a / (‖Angles_i‖ + 1e-5) (Eq. 6).
   */
  similarity?: 'dot' | 'cosine';
  /**
   * Modulate the created set by z as well (Eq. 10): x ← (z·Wγ + bγ) ⊙ x + (z·Wδ + bδ), with
   * four weights appended after the others. Default false: the reference code does this
   * step in its decoder's first layer instead (as `OneShotSetVAE` does, for every creation).
   */
  latentFilm?: boolean;
}

/** The latent FiLM's weights (Eq. 10). */
type FiLMWeightVariables = Record<'gammaKernel' | 'gammaBias' | 'betaKernel' | 'betaBias', LayerVariable>;

/** Indices of the `k` largest of each row of `scores [B, n0]`, descending (ties: lower index first). */
function topIndices(
  scores: Float32Array | Int32Array | Uint8Array,
  batch: number,
  n0: number,
  k: number,
): Int32Array {
  const out = new Int32Array(batch * k);
  const order = Array.from({ length: n0 }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    const row = (i: number) => scores[b * n0 + i];
    const ranked = order.slice().sort((i, j) => row(j) - row(i) || i - j);
    for (let r = 0; r < k; r++) out[b * k + r] = ranked[r];
  }
  return out;
}

/**
 * Top-n creation. Weights (in order): `points [n0, C]` (N(0,1)), `angles [n0, angleDim]`
 * (N(0,1) rows normalised once, at init), `mlp.kernel1 [l, h]`, `mlp.bias1 [h]`,
 * `mlp.kernel2 [h, angleDim]`, `mlp.bias2 [angleDim]`, `filmAlpha.kernel [1, C]`,
 * `filmAlpha.bias [C]`, `filmBeta.kernel [1, C]`, `filmBeta.bias [C]` (dense layers start
 * from PyTorch's U(±1/sqrt(fanIn)), as the reference); with `latentFilm` then
 * `latentFilm.gammaKernel [l, C]` (U(±1/sqrt(l))), `latentFilm.gammaBias [C]` (1),
 * `latentFilm.betaKernel [l, C]`, `latentFilm.betaBias [C]` (0) — the layer starts near
 * the reference's output. The angle MLP adds its residuals only where widths match (the
 * reference MLP). n in n·s is each set's own size.
 */
export class TopNCreation extends SetCreationLayer {
  static className = 'SetgenTopNCreation';
  readonly referenceSize: number;
  readonly angleDim: number;
  readonly maxSize: number;
  readonly angleHiddenUnits: number;
  readonly similarity: 'dot' | 'cosine';
  readonly latentFilm: boolean;
  private latent: FiLMWeightVariables | null = null;
  private w: Record<
    | 'points'
    | 'angles'
    | 'kernel1'
    | 'bias1'
    | 'kernel2'
    | 'bias2'
    | 'alphaKernel'
    | 'alphaBias'
    | 'betaKernel'
    | 'betaBias',
    LayerVariable
  > | null = null;

  constructor(args: TopNCreationArgs) {
    super(args, {
      referenceSize: is.integer(1),
      angleDim: is.integer(1),
      maxSize: is.integer(1),
      angleHiddenUnits: is.integer(1),
      similarity: is.oneOf(['dot', 'cosine'] as const),
      latentFilm: is.boolean,
    });
    this.referenceSize = checkPositiveInteger(args.referenceSize, 'TopNCreation.referenceSize');
    this.angleDim = checkPositiveInteger(args.angleDim, 'TopNCreation.angleDim');
    this.maxSize = checkPositiveInteger(args.maxSize, 'TopNCreation.maxSize');
    this.angleHiddenUnits = args.angleHiddenUnits ?? 32;
    this.similarity = args.similarity ?? 'dot';
    this.latentFilm = args.latentFilm ?? false;
    if (this.maxSize > this.referenceSize) {
      throw new ConfigError(
        `TopNCreation: maxSize (${this.maxSize}) must not exceed referenceSize (${this.referenceSize}): top-n picks n of the n0 reference points`,
      );
    }
  }

  protected get paddedLength(): number {
    return this.maxSize;
  }

  protected get sizeLimit() {
    return { value: this.referenceSize, name: 'referenceSize' };
  }

  override build(inputShape: Shape | Shape[]): void {
    const latentDim = this.buildLatentDim(inputShape);
    const random = new Random(this.seed ?? Math.floor(Math.random() * 2 ** 31));
    const [n0, a, h, c] = [this.referenceSize, this.angleDim, this.angleHiddenUnits, this.featureDim];
    const points = this.addWeight(
      'points',
      [n0, c],
      'float32',
      initializers.randomNormal({ seed: random.seed() }),
    );
    const angles = this.addWeight('angles', [n0, a], 'float32', initializers.zeros());
    // angles: N(0,1) rows normalised to unit length once, at init (not in the forward pass)
    const rows = Array.from({ length: n0 }, () => {
      const v = Array.from({ length: a }, () => random.normal());
      const length = Math.hypot(...v) + 1e-5;
      return v.map((e) => e / length);
    });
    const initialAngles = tensor2d(rows, [n0, a]);
    angles.write(initialAngles);
    initialAngles.dispose();
    this.w = {
      points,
      angles,
      kernel1: this.addWeight(
        'mlp/kernel1',
        [latentDim, h],
        'float32',
        linearInitializer(latentDim, random.seed()),
      ),
      bias1: this.addWeight('mlp/bias1', [h], 'float32', linearInitializer(latentDim, random.seed())),
      kernel2: this.addWeight('mlp/kernel2', [h, a], 'float32', linearInitializer(h, random.seed())),
      bias2: this.addWeight('mlp/bias2', [a], 'float32', linearInitializer(h, random.seed())),
      alphaKernel: this.addWeight('filmAlpha/kernel', [1, c], 'float32', linearInitializer(1, random.seed())),
      alphaBias: this.addWeight('filmAlpha/bias', [c], 'float32', linearInitializer(1, random.seed())),
      betaKernel: this.addWeight('filmBeta/kernel', [1, c], 'float32', linearInitializer(1, random.seed())),
      betaBias: this.addWeight('filmBeta/bias', [c], 'float32', linearInitializer(1, random.seed())),
    };
    if (this.latentFilm) {
      const kernel = (name: string) =>
        this.addWeight(name, [latentDim, c], 'float32', linearInitializer(latentDim, random.seed()));
      this.latent = {
        gammaKernel: kernel('latentFilm/gammaKernel'),
        gammaBias: this.addWeight('latentFilm/gammaBias', [c], 'float32', initializers.ones()),
        betaKernel: kernel('latentFilm/betaKernel'),
        betaBias: this.addWeight('latentFilm/betaBias', [c], 'float32', initializers.zeros()),
      };
    }
    this.built = true;
  }

  /** The normalised directions a(z) `[B, angleDim]` and the scores s `[B, n0]`. */
  scores(z: Tensor2D): { angles: Tensor2D; scores: Tensor2D } {
    if (typeof z !== 'object' || z === null || !('rank' in z) || z.rank !== 2) {
      throw new ShapeError('z: expected a Tensor2D [B, latentDim]');
    }
    this.checkLatent(z);
    if (!this.built) buildEagerly(this, z.shape);
    return tidy(() => {
      const w = this.w!;
      const raw = residualMlp(z, w.kernel1.read(), w.bias1.read(), w.kernel2.read(), w.bias2.read());
      const angles = div(raw, add(norm(raw, 'euclidean', 1, true), 1e-5)) as Tensor2D;
      let reference = w.angles.read();
      if (this.similarity === 'cosine')
        reference = div(reference, add(norm(reference, 'euclidean', 1, true), 1e-5));
      const scores = softmax(batchMatMul(angles, reference, { transposeB: true })) as Tensor2D;
      return { angles, scores };
    });
  }

  protected generate(z: Tensor2D, sizes: number[], length: number): Tensor3D {
    const w = this.w!;
    const batch = z.shape[0];
    const n0 = this.referenceSize;
    const { scores } = this.scores(z);
    const picked = topIndices(scores.dataSync(), batch, n0, length);
    // the choice as a one-hot [B·L, n0] made on the host: selections become products, whose
    // gradients are products again (no gather kernel, fast on wasm)
    const choice = new Float32Array(batch * length * n0);
    picked.forEach((index, at) => {
      choice[at * n0 + index] = 1;
    });
    const oneHot = tensor2d(choice, [batch * length, n0]);
    const selectedScores = sum(mul(reshape(oneHot, [batch, length, n0]), expandDims(scores, 1)), 2, true);
    // FiLM on n·s, n = the set's own size (the reference has one n per batch)
    const n = reshape(tensor1d(sizes), [batch, 1, 1]);
    const condition = mul(selectedScores, n);
    const selected = reshape(batchMatMul(oneHot, w.points.read()), [batch, length, this.featureDim]);
    const x = featureWiseLinearModulation(selected, condition, {
      gammaKernel: w.alphaKernel.read(),
      gammaBias: w.alphaBias.read(),
      betaKernel: w.betaKernel.read(),
      betaBias: w.betaBias.read(),
    }) as Tensor3D;
    if (!this.latent) return x;
    const v = this.latent; // Eq. 10
    return featureWiseLinearModulation(x, z, {
      gammaKernel: v.gammaKernel.read(),
      gammaBias: v.gammaBias.read(),
      betaKernel: v.betaKernel.read(),
      betaBias: v.betaBias.read(),
    }) as Tensor3D;
  }

  override getConfig() {
    return {
      ...super.getConfig(),
      referenceSize: this.referenceSize,
      angleDim: this.angleDim,
      maxSize: this.maxSize,
      angleHiddenUnits: this.angleHiddenUnits,
      similarity: this.similarity,
      latentFilm: this.latentFilm,
    };
  }
}
serialization.registerClass(TopNCreation);

/** `new TopNCreation(args)`. */
export function topNCreation(args: TopNCreationArgs): TopNCreation {
  return new TopNCreation(args);
}
