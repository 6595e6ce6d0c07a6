// Attentive Bottleneck Layer (SetVAE §4, Eq. 17–20 and App. A.2; REFERENCES.md §2.2–2.3):
// the stochastic layer of SetVAE's top-down decoder.
//   h = MAB0(I, x)                                  projection onto m inducing points (Eq. 18)
//   prior (μ, log σ²) = FF(h)                       or a learned [m, 2·Dz] tensor (top layer) (Eq. 19)
//   posterior (μ + Δμ, σ·Δσ), (Δμ, log Δσ²) = FF(h_enc + h)   residual, NVAE-style (Eq. 20)
//   z = μ' + σ'·ε (reparameterised, seeded)         both log-variances clamped to [-4, 3]
//   out = MAB1(x, FC(z))                            broadcast back to the set: ABL(x) (Eq. 17)
//   KL = Σ_{m, Dz} ½ (Δμ²/σ² + Δσ² − log Δσ² − 1) = KL(N(μ+Δμ, σ²Δσ²) ‖ N(μ, σ²)), per set
//        (the KL between the posterior of Eq. 15 and the prior of Eq. 14, in closed form)

import { ConfigError, formatShape, Random, ShapeError } from '@setgen/ops';
import { checkPositiveInteger, is } from '@setgen/ops/internal';
import {
  add,
  clipByValue,
  clone,
  dispose,
  div,
  exp,
  mul,
  randomNormal,
  serialization,
  split,
  square,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import { initializers, type LayerVariable } from '@tensorflow/tfjs-layers';
import { ComposedLayer } from './composed-layer.js';
import { denseProjection } from './dense-projection.js';
import { buildEagerly } from './eager-build.js';
import {
  buildSublayer,
  checkMask,
  checkSet,
  inputList,
  type Kwargs,
  type LayerArgs,
  type Shape,
  singleSetShape,
  tileOverBatch,
} from './layer-utils.js';
import { linearInitializer } from './linear-init.js';
import {
  type AttentionKind,
  checkMabOptions,
  knownWidth,
  type MabOptions,
  type MabVariant,
  MultiheadAttentionBlock,
  type SlotDenominator,
} from './multihead-attention-block.js';

/** SetVAE clamps every log-variance to this range. */
const LOGVAR_MIN = -4;
const LOGVAR_MAX = 3;

/** Constructor arguments of `AttentiveBottleneckLayer` (`abl`). */
export interface AttentiveBottleneckLayerArgs extends LayerArgs {
  /** Width D of h and of the MABs (dim_V). Required. */
  units: number;
  /** Latent size Dz per inducing point. Required. */
  latentDim: number;
  /** Attention heads of both MABs. Required. */
  numHeads: number;
  /** Number m of inducing points (latent "slots"). Required. */
  numInducingPoints: number;
  /**
   * true (default): the prior is FF(h), conditioned on the layers above. false: a learned
   * `[m, 2·Dz]` prior (SetVAE's top layer), and the posterior sees h_enc only.
   */
  conditionalPrior?: boolean;
  /** Attention of the projection MAB0; default 'slot' (SetVAE). The broadcast always uses softmax. */
  attention?: AttentionKind;
  /** Slot attention's denominator over padded keys (MAB0); default 'masked' (see `MultiheadAttentionBlockArgs`). */
  slotDenominator?: SlotDenominator;
  /** MAB variant; default 'setvae'. */
  variant?: MabVariant;
  /** Post-LayerNorms in the MABs; default true for 'setvae'. */
  layerNorm?: boolean;
  /** Seed of the weight initialisers and of the layer's own noise stream (default: random). */
  seed?: number;
}

/** Per-call options of `AttentiveBottleneckLayer.forward`. */
export interface AblForwardOptions {
  /** `[B, N]` valid-mask of x. */
  mask?: Tensor2D | null;
  /** Bottom-up encoder features `[B, m, units]` (inference mode); omit to sample from the prior. */
  hEnc?: Tensor3D | null;
  /** Use these latents `[B, m, latentDim]` instead of drawing z (SetVAE's `given_latents`). */
  z?: Tensor3D | null;
  /** Seed of ε for this call (default: the layer's stream if it has a seed, else random). */
  seed?: number;
  /** Scales the noise: z = μ + temperature·σ·ε; default 1. */
  temperature?: number;
  /** Keep the attention maps; default true. */
  returnAttention?: boolean;
}

/** What `AttentiveBottleneckLayer.forward` returns; the caller owns (and disposes) every tensor. */
export interface AblOutput {
  /** `[B, N, D]`: MAB1(x, FC(z)), zero at padded elements. */
  out: Tensor3D;
  /** `[B, m, units]`: the projection MAB0(I, x). */
  h: Tensor3D;
  /** `[B, m, latentDim]`: the latents used. */
  z: Tensor3D;
  /** `[B]`: KL(posterior ‖ prior) summed over inducing points and latent dims; zeros without hEnc. */
  kl: Tensor;
  /** `[B, m, latentDim]`: mean and log-variance of the distribution z was drawn from (posterior with hEnc, else prior). */
  mu: Tensor3D;
  logvar: Tensor3D;
  /** `[B, m, latentDim]`: the prior's mean and (clamped) log-variance. */
  priorMu: Tensor3D;
  priorLogvar: Tensor3D;
  /** `[projection [B, H, m, N], broadcast [B, H, N, m]]`, or null with `returnAttention: false`. */
  attention: [Tensor, Tensor] | null;
}

/**
 * ABL (SetVAE Eq. 17–20): `forward(x, { mask, hEnc, seed, temperature })` → `{ out, h, z, kl,
 * mu, logvar, priorMu, priorLogvar, attention }`; `apply(x | [x, hEnc], { mask, seed })` → out.
 *
 * Weights (getWeights order; the order of SetVAE's DecoderBlock parameters):
 *   I [m, units]; MAB0 (query I, key x); MAB1 (query x, key FC(z));
 *   prior: conditional → prior.kernel [units, 2·Dz], prior.bias [2·Dz]; else prior [m, 2·Dz];
 *   posterior.kernel [units, 2·Dz], posterior.bias [2·Dz]; fc.kernel [Dz, units], fc.bias [units].
 * The prior/posterior outputs are [μ | log σ²] (first half mean, as SetVAE's `elem_mlp`).
 */
export class AttentiveBottleneckLayer extends ComposedLayer {
  static className = 'SetgenABL';
  readonly options: MabOptions;
  readonly latentDim: number;
  readonly numInducingPoints: number;
  readonly conditionalPrior: boolean;
  readonly seed: number | undefined;
  readonly mab0: MultiheadAttentionBlock;
  readonly mab1: MultiheadAttentionBlock;
  private readonly noise: Random | null;
  private inducing: LayerVariable | null = null;
  private priorKernel: LayerVariable | null = null; // [units, 2Dz], or the learned prior [m, 2Dz]
  private priorBias: LayerVariable | null = null;
  private posteriorKernel: LayerVariable | null = null;
  private posteriorBias: LayerVariable | null = null;
  private fcKernel: LayerVariable | null = null;
  private fcBias: LayerVariable | null = null;
  private inputDim = 0;

  constructor(args: AttentiveBottleneckLayerArgs) {
    const layer = 'AttentiveBottleneckLayer';
    const options = checkMabOptions({ ...args, attention: args?.attention ?? 'slot' }, layer, {
      latentDim: is.integer(1),
      numInducingPoints: is.integer(1),
      conditionalPrior: is.boolean,
    });
    const latentDim = checkPositiveInteger(args.latentDim, `${layer}.latentDim`);
    const numInducingPoints = checkPositiveInteger(args.numInducingPoints, `${layer}.numInducingPoints`);
    super(args);
    this.options = options;
    this.latentDim = latentDim;
    this.numInducingPoints = numInducingPoints;
    this.conditionalPrior = args.conditionalPrior ?? true;
    this.seed = args.seed;
    this.noise = args.seed === undefined ? null : new Random(args.seed + 1000);
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
    return [
      this.inducing,
      this.mab0,
      this.mab1,
      this.priorKernel,
      this.priorBias,
      this.posteriorKernel,
      this.posteriorBias,
      this.fcKernel,
      this.fcBias,
    ];
  }

  override build(inputShape: Shape | Shape[]): void {
    // [x] or [x, hEnc]: only x's shape matters
    const shapes = inputShape as Shape[];
    const xShape =
      Array.isArray(shapes[0]) && shapes.length === 2
        ? shapes[0]
        : singleSetShape(inputShape, 'AttentiveBottleneckLayer');
    this.inputDim = knownWidth(xShape, 'AttentiveBottleneckLayer input');
    const { units } = this.options;
    const m = this.numInducingPoints;
    const dz = this.latentDim;
    const seed = (offset: number) => (this.seed === undefined ? undefined : this.seed + offset);
    this.inducing = this.addWeight(
      'I',
      [m, units],
      'float32',
      initializers.glorotUniform({ seed: this.seed }),
    );
    const pointsShape: Shape = [xShape[0], m, units];
    buildSublayer(this.mab0, 'mab0', [pointsShape, xShape]);
    buildSublayer(this.mab1, 'mab1', [xShape, pointsShape]);
    if (this.conditionalPrior) {
      this.priorKernel = this.addWeight(
        'prior.kernel',
        [units, 2 * dz],
        'float32',
        linearInitializer(units, seed(1)),
      );
      this.priorBias = this.addWeight('prior.bias', [2 * dz], 'float32', linearInitializer(units, seed(2)));
    } else {
      this.priorKernel = this.addWeight(
        'prior',
        [m, 2 * dz],
        'float32',
        initializers.glorotUniform({ seed: seed(1) }),
      );
    }
    this.posteriorKernel = this.addWeight(
      'posterior.kernel',
      [units, 2 * dz],
      'float32',
      linearInitializer(units, seed(3)),
    );
    this.posteriorBias = this.addWeight(
      'posterior.bias',
      [2 * dz],
      'float32',
      linearInitializer(units, seed(4)),
    );
    this.fcKernel = this.addWeight('fc.kernel', [dz, units], 'float32', linearInitializer(dz, seed(5)));
    this.fcBias = this.addWeight('fc.bias', [units], 'float32', linearInitializer(dz, seed(6)));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shapes = inputShape as Shape[];
    const xShape =
      Array.isArray(shapes[0]) && shapes.length === 2
        ? shapes[0]
        : singleSetShape(inputShape, 'AttentiveBottleneckLayer');
    return [xShape[0], xShape[1], this.mab1.outputDim(xShape[2] as number)];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const [x, hEnc] = inputList(
      list,
      list.length === 2 ? 2 : 1,
      'AttentiveBottleneckLayer',
      'x [B,N,D] or [x, hEnc [B,m,units]]',
    );
    // the mask is x's: `{ mask }` or, aligned with the inputs, `{ mask: [mask, null] }`
    const given: unknown = kwargs?.mask;
    const mask = checkMask(Array.isArray(given) ? given[0] : given, x, 'AttentiveBottleneckLayer mask');
    const result = this.forward(x as Tensor3D, {
      mask,
      hEnc: (hEnc as Tensor3D | undefined) ?? null,
      seed: kwargs?.seed,
      temperature: kwargs?.temperature,
      returnAttention: false,
    });
    const { out, h, z, kl, mu, logvar, priorMu, priorLogvar } = result;
    dispose([h, z, kl, mu, logvar, priorMu, priorLogvar]);
    return out;
  }

  private checkLatents(t: Tensor3D | null | undefined, width: number, b: number, name: string): void {
    if (t === null || t === undefined) return;
    const expected = [b, this.numInducingPoints, width];
    if (t.rank !== 3 || t.shape.some((d, i) => d !== expected[i])) {
      throw new ShapeError(
        `${this.name} ${name}: expected shape ${formatShape(expected)}, got ${formatShape(t.shape)}`,
      );
    }
  }

  /** The ABL with every intermediate (see `AblOutput`). */
  forward(x: Tensor3D, options: AblForwardOptions = {}): AblOutput {
    const { mask = null, hEnc = null, z: givenZ = null, temperature = 1, returnAttention = true } = options;
    if (!this.built) buildEagerly(this, x.shape);
    checkSet(x, this.inputDim, `${this.name} x`);
    checkMask(mask, x, `${this.name} mask`);
    const b = x.shape[0];
    this.checkLatents(hEnc, this.options.units, b, 'hEnc');
    this.checkLatents(givenZ, this.latentDim, b, 'z');
    if (!Number.isFinite(temperature) || temperature < 0) {
      throw new ConfigError(`${this.name}: temperature must be a non-negative number, got ${temperature}`);
    }
    const seed = options.seed ?? this.noise?.seed();
    const inducing = this.inducing!;
    const priorKernel = this.priorKernel!;
    const priorBias = this.priorBias;
    const posteriorKernel = this.posteriorKernel!;
    const posteriorBias = this.posteriorBias!;
    const fcKernel = this.fcKernel!;
    const fcBias = this.fcBias!;
    const result = tidy(() => {
      const dense = (t: Tensor, kernel: LayerVariable, bias: LayerVariable) =>
        denseProjection(t, kernel.read(), { bias: bias.read() });
      const halves = (t: Tensor) => {
        const [mean, logvar] = split(t, 2, -1);
        return [mean, clipByValue(logvar, LOGVAR_MIN, LOGVAR_MAX)] as Tensor3D[];
      };
      // Eq. 18: project the set onto the inducing points
      const projection = this.mab0.attend(tileOverBatch(inducing, b), x, { keyMask: mask, returnAttention });
      const h = projection.out;
      // Eq. 19: prior p(z | layers above)
      const priorParams = priorBias ? dense(h, priorKernel, priorBias) : tileOverBatch(priorKernel, b);
      const [priorMu, priorLogvar] = halves(priorParams);
      let mu = priorMu;
      let logvar = priorLogvar;
      let kl: Tensor = zeros([b]);
      if (hEnc) {
        // Eq. 20: residual posterior; the top layer (learned prior) sees h_enc only, as SetVAE
        const [deltaMu, deltaLogvar] = halves(
          dense(this.conditionalPrior ? add(hEnc, h) : hEnc, posteriorKernel, posteriorBias),
        );
        mu = add(priorMu, deltaMu);
        logvar = add(priorLogvar, deltaLogvar);
        // KL(q ‖ p) of Eq. 15 against Eq. 14, in closed form per set
        const terms = sub(add(div(square(deltaMu), exp(priorLogvar)), exp(deltaLogvar)), add(deltaLogvar, 1));
        kl = mul(sum(terms, [1, 2]), 0.5);
      }
      // reparameterisation: z = μ' + T·σ'·ε
      const z = givenZ
        ? clone(givenZ)
        : add(
            mu,
            mul(mul(exp(mul(logvar, 0.5)), randomNormal(mu.shape, 0, 1, 'float32', seed)), temperature),
          );
      // Eq. 17: broadcast the latents back to the set (no residual from h, as SetVAE)
      const broadcast = this.mab1.attend(x, dense(z, fcKernel, fcBias) as Tensor3D, {
        queryMask: mask,
        returnAttention,
      });
      const outs = [broadcast.out, h, z, kl, mu, logvar, priorMu, priorLogvar];
      return returnAttention ? [...outs, projection.attention!, broadcast.attention!] : outs;
    });
    const [out, h, z, kl, mu, logvar, priorMu, priorLogvar, projection, broadcast] = result;
    return {
      out: out as Tensor3D,
      h: h as Tensor3D,
      z: z as Tensor3D,
      kl,
      mu: mu as Tensor3D,
      logvar: logvar as Tensor3D,
      priorMu: priorMu as Tensor3D,
      priorLogvar: priorLogvar as Tensor3D,
      attention: returnAttention ? [projection, broadcast] : null,
    };
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...this.options,
      latentDim: this.latentDim,
      numInducingPoints: this.numInducingPoints,
      conditionalPrior: this.conditionalPrior,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
serialization.registerClass(AttentiveBottleneckLayer);

/** `new AttentiveBottleneckLayer(args)`. */
export function abl(args: AttentiveBottleneckLayerArgs): AttentiveBottleneckLayer {
  return new AttentiveBottleneckLayer(args);
}
