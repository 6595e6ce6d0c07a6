// SetVAE configuration (SetVAE paper Table 4–5; reference scripts in REFERENCES.md §2.7).
import type { SlotDenominator } from '@setgen/layers';
import { ConfigError } from '@setgen/ops';
import { checkChoice, checkNumber, checkPositiveInteger } from '@setgen/ops/internal';

/** How the decoder's last FC output is mapped to data space. */
export type SetVAEOutputMap =
  /** `(tanh(y) + 1) / 2` ∈ (0, 1): data in the unit square (Set-MNIST, Table 4). */
  | 'unit-interval'
  /** `y` unchanged (ShapeNet). */
  | 'identity';

/** Everything that defines a SetVAE: architecture, objective and training schedule. */
export interface SetVAEConfig {
  /** Element dimension of the data (2 for Set-MNIST, 3 for ShapeNet). */
  inputDim: number;
  /** Hidden width d of every ISAB/ABL. Default 64. */
  hiddenDim?: number;
  /** Attention heads h. Default 4. */
  numHeads?: number;
  /** Latent width d_z of every ABL. Default 16. */
  latentDim?: number;
  /**
   * Inducing points m_l of the generator's ABLs, top-down (coarse → fine), e.g.
   * `[2, 4, 8, 16, 32]`; the encoder's ISABs use the same list bottom-up (reversed).
   */
  inducingPoints: readonly number[];
  /** Dimension of the initial-set prior (Eq. 21) before its FC to `hiddenDim`. Default 32. */
  initialSetDim?: number;
  /** Mixture components K of the initial-set prior (Eq. 21). Default 4. */
  mixtureComponents?: number;
  /** Train the mixture parameters (ShapeNet scripts) or keep them fixed (MNIST). Default false. */
  trainMixture?: boolean;
  /**
   * `false`: the paper's non-hierarchical "Vanilla SetVAE" of the ablation (§3, App. B.3,
   * Fig. 12): every ABL of the generator has one latent (m = 1) with its own unconditional
   * prior N(μ_l, σ_l), and every ABL's posterior reads the same h_enc ∈ R^{1×d}, the average
   * of all encoder levels' projected sets; the encoder is unchanged. Default true.
   */
  hierarchical?: boolean;
  /** Slot attention in the projections MAB(I, x) (App. A.2). Default true. */
  slotAttention?: boolean;
  /**
   * Slot attention's denominator over padding. `'masked'` (default, our choice): each inducing
   * point averages over the valid elements only, so padding never changes a result.
   * `'padded'`: as the reference code (jw9730/setvae), every padded element adds 1/m + 1e-5 to
   * the denominator, which shrinks the projections of padded sets; the encoder then keeps the
   * batch's padded length as given and drawn initial sets are padded to `maxOutputs`, as there.
   * For number-for-number comparisons with the reference only. Needs `slotAttention`.
   */
  slotDenominator?: SlotDenominator;
  /** Post-LayerNorm in every MAB. Default true. */
  layerNorm?: boolean;
  /** Output map after the last FC. Default 'unit-interval' when inputDim is 2, else 'identity'. */
  outputMap?: SetVAEOutputMap;
  /** Largest cardinality the model is asked to generate (sizes above it are refused). Default 400. */
  maxOutputs?: number;
  /** KL weight β of Eq. 25. Default 0.01. */
  beta?: number;
  /**
   * Free bits λ in nats (Kingma et al. 2016, "Improved variational inference with inverse
   * autoregressive flow", §C.8): each level's batch-mean KL enters the loss as max(KL_l, λ),
   * so β never pushes a level below λ nats (no posterior collapse while the decoder is
   * weak). Not in the SetVAE paper; the reported `kl` is the true KL. Default 0 (off).
   */
  freeBits?: number;
  /** β rises linearly from 0 to `beta` over this many epochs (0 = no warm-up). Default 50. */
  klWarmupEpochs?: number;
  /** Adam learning rate (β₁ 0.9, β₂ 0.999). Default 1e-3. */
  learningRate?: number;
  /** Length of training in epochs (may be fractional); the learning rate decays linearly to zero over its second half. Default 200. */
  epochs?: number;
  /** Minibatch size used by `fit`. Default 64. */
  batchSize?: number;
  /** Seed for the weight initialisers and the training noise. Default 42. */
  seed?: number;
}

/** Every key of SetVAEConfig (the `Record` makes the compiler insist on a new one). */
const CONFIG_KEYS = Object.keys({
  inputDim: true,
  hiddenDim: true,
  numHeads: true,
  latentDim: true,
  inducingPoints: true,
  initialSetDim: true,
  mixtureComponents: true,
  trainMixture: true,
  hierarchical: true,
  slotAttention: true,
  slotDenominator: true,
  layerNorm: true,
  outputMap: true,
  maxOutputs: true,
  beta: true,
  freeBits: true,
  klWarmupEpochs: true,
  learningRate: true,
  epochs: true,
  batchSize: true,
  seed: true,
} satisfies Record<keyof SetVAEConfig, true>) as (keyof SetVAEConfig)[];

/** A config with every default filled in. */
export type ResolvedSetVAEConfig = Required<SetVAEConfig>;

/** Fills defaults and checks every field; throws `ConfigError` naming the field. */
export function resolveSetVAEConfig(config: SetVAEConfig): ResolvedSetVAEConfig {
  if (config === null || typeof config !== 'object') {
    throw new ConfigError(`config: expected a SetVAEConfig object, got ${JSON.stringify(config)}`);
  }
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.includes(key as keyof SetVAEConfig)) {
      throw new ConfigError(`config.${key}: unknown key (expected one of ${CONFIG_KEYS.join(', ')})`);
    }
  }
  const resolved: ResolvedSetVAEConfig = {
    inputDim: config.inputDim,
    hiddenDim: config.hiddenDim ?? 64,
    numHeads: config.numHeads ?? 4,
    latentDim: config.latentDim ?? 16,
    inducingPoints: config.inducingPoints,
    initialSetDim: config.initialSetDim ?? 32,
    mixtureComponents: config.mixtureComponents ?? 4,
    trainMixture: config.trainMixture ?? false,
    hierarchical: config.hierarchical ?? true,
    slotAttention: config.slotAttention ?? true,
    slotDenominator: config.slotDenominator ?? 'masked',
    layerNorm: config.layerNorm ?? true,
    outputMap: config.outputMap ?? (config.inputDim === 2 ? 'unit-interval' : 'identity'),
    maxOutputs: config.maxOutputs ?? 400,
    beta: config.beta ?? 0.01,
    freeBits: config.freeBits ?? 0,
    klWarmupEpochs: config.klWarmupEpochs ?? 50,
    learningRate: config.learningRate ?? 1e-3,
    epochs: config.epochs ?? 200,
    batchSize: config.batchSize ?? 64,
    seed: config.seed ?? 42,
  };
  for (const key of [
    'inputDim',
    'hiddenDim',
    'numHeads',
    'latentDim',
    'initialSetDim',
    'mixtureComponents',
    'maxOutputs',
    'batchSize',
  ] as const) {
    checkPositiveInteger(resolved[key], `config.${key}`);
  }
  for (const key of ['beta', 'freeBits', 'klWarmupEpochs', 'learningRate'] as const)
    checkNumber(resolved[key], `config.${key}`, { min: 0 });
  if (!(typeof resolved.epochs === 'number' && resolved.epochs > 0 && Number.isFinite(resolved.epochs))) {
    throw new ConfigError(
      `config.epochs: expected a number > 0 (fractions allowed), got ${JSON.stringify(resolved.epochs)}`,
    );
  }
  if (!Number.isInteger(resolved.seed)) {
    throw new ConfigError(`config.seed: expected an integer, got ${JSON.stringify(resolved.seed)}`);
  }
  if (!Array.isArray(resolved.inducingPoints) || resolved.inducingPoints.length === 0) {
    throw new ConfigError(
      `config.inducingPoints: expected a non-empty array of positive integers (top-down), got ${JSON.stringify(resolved.inducingPoints)}`,
    );
  }
  resolved.inducingPoints.forEach((m, i) => {
    checkPositiveInteger(m, `config.inducingPoints[${i}]`);
  });
  if (resolved.hiddenDim % resolved.numHeads !== 0) {
    throw new ConfigError(
      `config.hiddenDim: expected a multiple of numHeads (${resolved.numHeads}), got ${resolved.hiddenDim}`,
    );
  }
  if (resolved.outputMap !== 'unit-interval' && resolved.outputMap !== 'identity') {
    throw new ConfigError(
      `config.outputMap: expected 'unit-interval' | 'identity', got ${JSON.stringify(resolved.outputMap)}`,
    );
  }
  for (const key of ['trainMixture', 'hierarchical', 'slotAttention', 'layerNorm'] as const) {
    if (typeof resolved[key] !== 'boolean') {
      throw new ConfigError(`config.${key}: expected a boolean, got ${JSON.stringify(resolved[key])}`);
    }
  }
  checkChoice(resolved.slotDenominator, 'config.slotDenominator', ['masked', 'padded'] as const);
  if (resolved.slotDenominator === 'padded' && !resolved.slotAttention) {
    throw new ConfigError(
      "config.slotDenominator: 'padded' applies to slot attention, but slotAttention is false",
    );
  }
  return { ...resolved, inducingPoints: [...resolved.inducingPoints] };
}

/**
 * The paper's settings (Table 4–5, reference scripts): copy and override, e.g.
 * `new SetVAE({ ...SetVAE.presets.setMnist, epochs: 20 })`.
 * The paper's text gives Set-MNIST 40 / MultiMNIST 50 warm-up epochs, its Table 5 and the
 * reference scripts the other way round; we follow the table and the scripts.
 */
export const setVAEPresets = {
  /** Set-MNIST: 2-D points in [0,1]², up to 342 per digit (Table 4, middle column). */
  setMnist: {
    inputDim: 2,
    hiddenDim: 64,
    numHeads: 4,
    latentDim: 16,
    inducingPoints: [2, 4, 8, 16, 32],
    initialSetDim: 32,
    mixtureComponents: 4,
    trainMixture: false,
    slotAttention: true,
    layerNorm: true,
    outputMap: 'unit-interval',
    maxOutputs: 400,
    beta: 0.01,
    klWarmupEpochs: 50,
    learningRate: 1e-3,
    epochs: 200,
    batchSize: 64,
    seed: 42,
  },
  /** Set-MultiMNIST: two digits on a 64×64 canvas, up to 600 points (Table 4, right column). */
  setMultiMnist: {
    inputDim: 2,
    hiddenDim: 64,
    numHeads: 4,
    latentDim: 16,
    inducingPoints: [2, 4, 8, 16, 32],
    initialSetDim: 64,
    mixtureComponents: 16,
    trainMixture: false,
    slotAttention: true,
    layerNorm: true,
    outputMap: 'unit-interval',
    maxOutputs: 600,
    beta: 0.01,
    klWarmupEpochs: 40,
    learningRate: 1e-3,
    epochs: 200,
    batchSize: 64,
    seed: 42,
  },
  /** ShapeNet (airplane/car/chair), 2048 points in 3-D (Table 4, left column). */
  shapenet: {
    inputDim: 3,
    hiddenDim: 64,
    numHeads: 4,
    latentDim: 16,
    inducingPoints: [1, 1, 2, 4, 8, 16, 32],
    initialSetDim: 32,
    mixtureComponents: 4,
    trainMixture: true,
    slotAttention: true,
    layerNorm: true,
    outputMap: 'identity',
    maxOutputs: 2500,
    beta: 1,
    klWarmupEpochs: 2000,
    learningRate: 1e-3,
    epochs: 8000,
    batchSize: 128,
    seed: 42,
  },
} as const satisfies Record<string, SetVAEConfig>;
