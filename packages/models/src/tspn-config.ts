// TSPN configuration (Kosiorek et al. 2020 as ported by LukeBolly/tf-tspn, REFERENCES.md §6;
// the Top-n paper's creation alternatives, §7.1 and its App. D.1).
import { ConfigError } from '@setgen/ops';
import { checkOptions, checkPositiveInteger, is } from '@setgen/ops/internal';
import { CREATION_KINDS, type CreationKind } from './creation.js';

/** Configuration of a `TSPN` (see `tspnPresets` for the reference settings). */
export interface TSPNConfig {
  /** Element features C (2 for Set-MNIST). */
  setDim: number;
  /** Largest set size (the reference pads to 360); also the size predictor's classes. */
  maxSize: number;
  /** Features of the created initial elements (Top-n's TSPN code: 16). Default 16. */
  initialSetDim?: number;
  /** Hidden width of the encoder's element-wise layers. Default 256. */
  encoderHiddenUnits?: number;
  /** Width of the set encoding z (`encoder_output_channels`). Default 64. */
  latentDim?: number;
  /** FSPool pieces. Default 20. */
  numPieces?: number;
  /** Transformer width d_model (`attn_size`). Default 256. */
  modelDim?: number;
  /** Attention heads. Default 4. */
  numHeads?: number;
  /** Attention blocks. Default 3. */
  numBlocks?: number;
  /** 'sab' = full self-attention (the reference); 'isab' with `numInducingPoints`. Default 'sab'. */
  block?: 'sab' | 'isab';
  /** Inducing points of the 'isab' blocks. Default 32. */
  numInducingPoints?: number;
  /** How the initial set is created. Default 'iid' (the reference). */
  creation?: CreationKind;
  /** Top-n reference points n0. Default 2·maxSize. */
  referenceSize?: number;
  /** Top-n angle dimension. Default 4. */
  angleDim?: number;
  /** MLP creation hidden width. Default 256. */
  creationHiddenUnits?: number;
  /** Hidden width of the size predictor. Default 128. */
  sizeHiddenUnits?: number;
  /** Adam learning rate. Default 1e-3 (the reference; Top-n App. D.1 used 5e-4). */
  learningRate?: number;
  batchSize?: number;
  /**
   * Drop an epoch's last partial batch when batching the training data. Default false: the
   * reference batches with `Dataset.batch` (remainder kept), and TSPN's loss is a mean per
   * set, so a small batch is only a noisier step. Read it where the batches are made.
   */
  dropLast?: boolean;
  epochs?: number;
  seed?: number;
}

/** A `TSPNConfig` with every default filled in. */
export type ResolvedTSPNConfig = Required<TSPNConfig>;

const positive = is.integer(1);

/** Every field's check (unknown fields are refused with a "did you mean"). */
const SPEC = {
  setDim: positive,
  maxSize: positive,
  initialSetDim: positive,
  encoderHiddenUnits: positive,
  latentDim: positive,
  numPieces: positive,
  modelDim: positive,
  numHeads: positive,
  numBlocks: positive,
  block: is.oneOf(['sab', 'isab'] as const),
  numInducingPoints: positive,
  creation: is.oneOf(CREATION_KINDS),
  referenceSize: positive,
  angleDim: positive,
  creationHiddenUnits: positive,
  sizeHiddenUnits: positive,
  learningRate: is.number({ positive: true }),
  batchSize: positive,
  dropLast: is.boolean,
  epochs: is.number({ positive: true }),
  seed: is.seed,
};

/** Fills defaults and checks every field (`ConfigError` naming it). */
export function resolveTSPNConfig(config: TSPNConfig): ResolvedTSPNConfig {
  if (config === null || config === undefined) throw new ConfigError('config: expected a TSPNConfig object');
  const c = checkOptions(config, SPEC, 'config');
  const maxSize = checkPositiveInteger(c.maxSize, 'config.maxSize');
  const resolved: ResolvedTSPNConfig = {
    setDim: checkPositiveInteger(c.setDim, 'config.setDim'),
    maxSize,
    initialSetDim: c.initialSetDim ?? 16,
    encoderHiddenUnits: c.encoderHiddenUnits ?? 256,
    latentDim: c.latentDim ?? 64,
    numPieces: c.numPieces ?? 20,
    modelDim: c.modelDim ?? 256,
    numHeads: c.numHeads ?? 4,
    numBlocks: c.numBlocks ?? 3,
    block: c.block ?? 'sab',
    numInducingPoints: c.numInducingPoints ?? 32,
    creation: c.creation ?? 'iid',
    referenceSize: c.referenceSize ?? 2 * maxSize,
    angleDim: c.angleDim ?? 4,
    creationHiddenUnits: c.creationHiddenUnits ?? 256,
    sizeHiddenUnits: c.sizeHiddenUnits ?? 128,
    learningRate: c.learningRate ?? 1e-3,
    batchSize: c.batchSize ?? 32,
    dropLast: c.dropLast ?? false,
    epochs: c.epochs ?? 100,
    seed: c.seed ?? 0,
  };
  if (resolved.modelDim % resolved.numHeads !== 0) {
    throw new ConfigError(
      `config.modelDim: expected a multiple of numHeads (${resolved.numHeads}), got ${resolved.modelDim}`,
    );
  }
  if (resolved.referenceSize < resolved.maxSize) {
    throw new ConfigError(
      `config.referenceSize: expected >= maxSize (${resolved.maxSize}), got ${resolved.referenceSize}`,
    );
  }
  return resolved;
}

/** The Set-MNIST settings of the reference TSPN port (LukeBolly/tf-tspn). */
export const tspnPresets = {
  setMnist: {
    setDim: 2,
    maxSize: 360,
    initialSetDim: 16,
    encoderHiddenUnits: 256,
    latentDim: 64,
    modelDim: 256,
    numHeads: 4,
    numBlocks: 3,
    block: 'sab',
    creation: 'iid',
    learningRate: 1e-3,
    batchSize: 32,
    epochs: 100,
  },
} as const satisfies Record<string, TSPNConfig>;
