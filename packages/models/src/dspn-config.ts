// DSPN configuration (Zhang et al. 2019; reference scripts in REFERENCES.md §4.5; the Top-n
// paper's creation alternatives, §7.1).
import { ConfigError } from '@setgen/ops';
import { checkOptions, checkPositiveInteger, is } from '@setgen/ops/internal';
import { CREATION_KINDS, type CreationKind } from './creation.js';

/** The decoder: DSPN's inner optimisation, or the baselines of DSPN Table 1. */
export const DSPN_DECODERS = ['inner-loop', 'mlp', 'lstm'] as const;
/** One of `DSPN_DECODERS`: the decoder a DSPN uses. */
export type DSPNDecoder = (typeof DSPN_DECODERS)[number];

/** Configuration of a `DSPN` (see `dspnPresets` for the reference settings). */
export interface DSPNConfig {
  /** Element features C (2 for Set-MNIST, 4 CLEVR boxes, 18 CLEVR states). */
  setDim: number;
  /** Size N of every predicted set (Set-MNIST 342, CLEVR 10); inputs are padded to it. */
  maxSize: number;
  /** 'autoencoder' (z = g(x)) or 'supervised' (z = `batch.condition` [B, latentDim]). Default 'autoencoder'. */
  mode?: 'autoencoder' | 'supervised';
  /** Hidden width of g (`--dim`). Default 256. */
  hiddenUnits?: number;
  /** Width of z = g(Y) (`--latent`). Default 64. */
  latentDim?: number;
  /** FSPool pieces. Default 20. */
  numPieces?: number;
  /** g over element pairs (RNFSEncoder, CLEVR). Default false. */
  relational?: boolean;
  /** Default 'inner-loop' (DSPN); 'mlp' / 'lstm' are DSPN Table 1's baselines. */
  decoder?: DSPNDecoder;
  /** How Ŷ⁰ is created (inner-loop decoder). Default 'first-n' = DSPN's learned starting set. */
  creation?: CreationKind;
  /** Top-n reference points n0. Default 2·maxSize (Top-n App. D.1). */
  referenceSize?: number;
  /** Top-n angle dimension. Default 4 (the Top-n DSPN code). */
  angleDim?: number;
  /** Inner steps T at training time (`--iters`). Default 10. */
  iterations?: number;
  /** Inner learning rate η (`--inner-lr`). Default 800. */
  innerLearningRate?: number;
  /**
   * How L_repr reduces over the batch. 'batch-mean' is the reference's ONE mean over
   * batch × latent (`F.smooth_l1_loss`): each set's inner step shrinks as 1/B, so a set's
   * prediction depends on how many sets it is decoded with (one set alone: B× the training
   * step). 'fixed-batch' (default) divides the sum of the per-set means by `batchSize`
   * instead: identical to the reference for full training batches, and every set takes the
   * training step in any batch (a last partial batch, `predict` on one z, scoring in batches
   * of 100).
   */
  innerLossReduction?: 'fixed-batch' | 'batch-mean';
  /**
   * Recompute each inner step in the backward pass instead of keeping its intermediates on
   * the tape (gradient checkpointing). Same gradients; the tape of the T steps shrinks to the
   * steps' inputs, for one more forward and first backward pass of g per step. At the
   * reference scale (B 32, N 342, width 256) the full tape holds ≈ 1.2 GB with the default
   * `innerGradient: 'explicit'` (fits the wasm heap) and ≈ 2.9 GB with 'autodiff' (does not):
   * for larger batches or sets, or a small heap. Default false.
   */
  recomputeInnerSteps?: boolean;
  /**
   * How the inner step's ∇L_repr (Eq. 4) is formed. 'explicit' (default over elements): g's
   * forward and its backward to (Ŷ, m̂) written out as ops (`FSEncoder.encodeWithInputGradient`),
   * so the outer backward runs only the products it needs and the tape keeps ~4 tensors of
   * [B, N, hiddenUnits] per step; 'autodiff' (the only one for `relational`): a nested
   * `tf.grads`, which also forms ∂L_repr/∂W of every layer and keeps ~20 such tensors per step.
   * The same gradients either way.
   */
  innerGradient?: 'explicit' | 'autodiff';
  /** Outer set loss: Chamfer on every intermediate set, or Hungarian on the last. Default 'chamfer'. */
  loss?: 'chamfer' | 'hungarian';
  /** Supervised mode: weight λ of smooth-L1(g(Y), z) (`--huber-repr`). Default 1. */
  reprWeight?: number;
  /** Outer Adam learning rate (`--lr`). Default 1e-2 (MNIST script). */
  learningRate?: number;
  /** Minibatch size. Default 32. */
  batchSize?: number;
  /**
   * Drop an epoch's last partial batch when batching the training data (`drop_last=True` in
   * the reference loaders). Default true: L_repr is ONE mean over batch × latent (§4.8), so
   * each set's inner step grows as 1/B and a small last batch takes steps up to B× too large.
   * Read it where the batches are made: `batches(sets, { batchSize, dropLast })`.
   */
  dropLast?: boolean;
  /** Epochs. Default 100. */
  epochs?: number;
  /** Seed of the initialisers and of the i.i.d. draws. Default 0. */
  seed?: number;
}

/** A `DSPNConfig` with every default filled in. */
export type ResolvedDSPNConfig = Required<DSPNConfig>;

const positive = is.integer(1);

/** Every field's check (unknown fields are refused with a "did you mean"). */
const SPEC = {
  setDim: positive,
  maxSize: positive,
  mode: is.oneOf(['autoencoder', 'supervised'] as const),
  hiddenUnits: positive,
  latentDim: positive,
  numPieces: positive,
  relational: is.boolean,
  decoder: is.oneOf(DSPN_DECODERS),
  creation: is.oneOf(CREATION_KINDS),
  referenceSize: positive,
  angleDim: positive,
  iterations: positive,
  innerLearningRate: is.number({ positive: true }),
  innerLossReduction: is.oneOf(['fixed-batch', 'batch-mean'] as const),
  recomputeInnerSteps: is.boolean,
  innerGradient: is.oneOf(['explicit', 'autodiff'] as const),
  loss: is.oneOf(['chamfer', 'hungarian'] as const),
  reprWeight: is.number({ min: 0 }),
  learningRate: is.number({ positive: true }),
  batchSize: positive,
  dropLast: is.boolean,
  epochs: is.number({ positive: true }),
  seed: is.seed,
};

/** Fills defaults and checks every field (`ConfigError` naming it). */
export function resolveDSPNConfig(config: DSPNConfig): ResolvedDSPNConfig {
  if (config === null || config === undefined) throw new ConfigError('config: expected a DSPNConfig object');
  const c = checkOptions(config, SPEC, 'config');
  const setDim = checkPositiveInteger(c.setDim, 'config.setDim');
  const maxSize = checkPositiveInteger(c.maxSize, 'config.maxSize');
  const resolved: ResolvedDSPNConfig = {
    setDim,
    maxSize,
    mode: c.mode ?? 'autoencoder',
    hiddenUnits: c.hiddenUnits ?? 256,
    latentDim: c.latentDim ?? 64,
    numPieces: c.numPieces ?? 20,
    relational: c.relational ?? false,
    decoder: c.decoder ?? 'inner-loop',
    creation: c.creation ?? 'first-n',
    referenceSize: c.referenceSize ?? 2 * maxSize,
    angleDim: c.angleDim ?? 4,
    iterations: c.iterations ?? 10,
    innerLearningRate: c.innerLearningRate ?? 800,
    innerLossReduction: c.innerLossReduction ?? 'fixed-batch',
    recomputeInnerSteps: c.recomputeInnerSteps ?? false,
    innerGradient: c.innerGradient ?? (c.relational ? 'autodiff' : 'explicit'),
    loss: c.loss ?? 'chamfer',
    reprWeight: c.reprWeight ?? 1,
    learningRate: c.learningRate ?? 1e-2,
    batchSize: c.batchSize ?? 32,
    dropLast: c.dropLast ?? true,
    epochs: c.epochs ?? 100,
    seed: c.seed ?? 0,
  };
  if (resolved.relational && resolved.innerGradient === 'explicit') {
    throw new ConfigError(
      "config.innerGradient: 'explicit' is for g over elements; relational g needs 'autodiff'",
    );
  }
  if (resolved.referenceSize < resolved.maxSize) {
    throw new ConfigError(
      `config.referenceSize: expected >= maxSize (${resolved.maxSize}): Top-n picks n of n0 points, got ${resolved.referenceSize}`,
    );
  }
  return resolved;
}

/** The settings of DSPN's reference scripts (Cyanogenoid/dspn): copy and override. */
export const dspnPresets = {
  /** Set-MNIST autoencoding: `--loss chamfer --dim 256 --latent 64 --mask-feature --inner-lr 800 --lr 0.01`. */
  setMnist: {
    setDim: 2,
    maxSize: 342,
    mode: 'autoencoder',
    hiddenUnits: 256,
    latentDim: 64,
    iterations: 10,
    innerLearningRate: 800,
    loss: 'chamfer',
    learningRate: 1e-2,
    batchSize: 32,
    epochs: 100,
  },
  /** CLEVR boxes/states: relational g, Hungarian, `--dim 512 --latent 512 --lr 3e-4 --huber-repr 0.1`. */
  clevr: {
    setDim: 18,
    maxSize: 10,
    mode: 'supervised',
    hiddenUnits: 512,
    latentDim: 512,
    relational: true,
    iterations: 10,
    innerLearningRate: 800,
    loss: 'hungarian',
    reprWeight: 0.1,
    learningRate: 3e-4,
    batchSize: 32,
    epochs: 100,
  },
} as const satisfies Record<string, DSPNConfig>;
