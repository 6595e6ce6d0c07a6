// SetVAE's public surface: its loss terms, options and what it returns (per level, top-down).
import type { SetBatch, SetLike } from '@setgen/ops';
import { is } from '@setgen/ops/internal';
import type { Scalar, Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';

/** Loss terms of one batch (Eq. 25): `kl = Σ_l kl{l}`, each a batch mean, level l top-down. */
export type SetVAELoss = { total: Scalar; recon: Scalar; kl: Scalar } & Record<`kl${number}`, Scalar>;

/** Options of `sample` / `decodeInitialSet`. */
export interface SampleOptions {
  /** Seed of the initial set and the latent draws; default: the model's own stream. */
  seed?: number;
  /** Multiplies the standard deviations of the latents (0 = every latent at its mean). Default 1. */
  temperature?: number;
  /** Given latents per level, top-down (`[B, m_l, latentDim]`, or null to draw that level): the reference's `given_latents`. */
  latents?: readonly (Tensor3D | null)[];
}

/** `SampleOptions` for `checkOptions` (unknown keys and wrong types are `ConfigError`s). */
export const SAMPLE_OPTIONS = { seed: is.seed, temperature: is.number({ min: 0 }), latents: is.any };

/** Options of `reconstruct` / `loss`. */
export interface ReconstructOptions {
  /** Seed of the initial set and the posterior draws; default: the model's own stream. */
  seed?: number;
  /** Multiplies the posterior standard deviations (0 = every latent at its mean). Default 1. */
  temperature?: number;
  /** Decode from this initial set z(0) `[B, n, initialSetDim]` instead of drawing it (its mask sets the output sizes). */
  initialSet?: SetLike;
}

/** Generator attention of one ABL, for visualisation (SetVAE Fig. 8). */
export interface LevelAttention {
  /** Inducing points m_l of the level. */
  inducingPoints: number;
  /** `[B, H, m_l, N]`: how each element distributes over the m_l inducing points. */
  attention: Tensor4D;
}

/** The latent distributions of one generator level (all `[B, m_l, latentDim]` except `kl`). */
export interface LevelLatents {
  priorMu: Tensor3D;
  priorLogvar: Tensor3D;
  /** Posterior (Eq. 20) in `reconstruct`; the prior again in `sample`. */
  posteriorMu: Tensor3D;
  posteriorLogvar: Tensor3D;
  /** The latents used. */
  z: Tensor3D;
  /** `[B]`: KL(posterior ‖ prior) per set (zeros in `sample`). */
  kl: Tensor;
}

/** Bottom-up encodings of a batch. */
export interface SetVAEEncoding {
  /** Projected sets h_enc `[B, m_l, d]`, TOP-DOWN order (index l pairs with generator level l). */
  features: Tensor3D[];
  /** Encoder projection attention `[B, H, m_l, N]` per level, top-down (SetVAE Fig. 7). */
  attention: Tensor4D[];
}

/** A decoded batch with its per-level generator attention and latents. */
export interface SetVAEOutput extends SetBatch {
  mask: Tensor2D;
  /** Generator attention per level, top-down (SetVAE Fig. 8). */
  attention: LevelAttention[];
  /** Latent distributions per level, top-down. */
  levels: LevelLatents[];
}

/** `ReconstructOptions` and `loss`'s own options (checked by `loss`) for `checkOptions`. */
export const RECONSTRUCT_OPTIONS = {
  seed: is.seed,
  temperature: is.number({ min: 0 }),
  initialSet: is.any,
  weights: is.any,
  beta: is.any,
  training: is.any,
};

/** An initial set z(0) with its mask; `full` when every row is valid. */
export interface InitialSet {
  x: Tensor3D;
  mask: Tensor2D;
  full: boolean;
}

/** Options of SetVAE's top-down pass (sampling options, and whether to keep attention maps). */
export type DecodeOptions = Pick<SampleOptions, 'temperature' | 'latents'> & { withAttention?: boolean };
