// TSPN configuration (Kosiorek et al. 2020 as ported by LukeBolly/tf-tspn, REFERENCES.md §6;
// the Top-n paper's creation alternatives, §7.1 and its App. D.1).
import { ConfigError } from '@setgen/ops';
import {
  checkChoiceField,
  checkConfigObject,
  checkIntegerField,
  checkKnownFields,
  checkPositiveField,
  checkPositiveIntegerField,
} from './config-checks.js';
import { CREATION_KINDS, type CreationKind } from './creation.js';

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
  epochs?: number;
  seed?: number;
}

export type ResolvedTSPNConfig = Required<TSPNConfig>;

const FIELDS = [
  'setDim',
  'maxSize',
  'initialSetDim',
  'encoderHiddenUnits',
  'latentDim',
  'numPieces',
  'modelDim',
  'numHeads',
  'numBlocks',
  'block',
  'numInducingPoints',
  'creation',
  'referenceSize',
  'angleDim',
  'creationHiddenUnits',
  'sizeHiddenUnits',
  'learningRate',
  'batchSize',
  'epochs',
  'seed',
] as const;

export function resolveTSPNConfig(config: TSPNConfig): ResolvedTSPNConfig {
  checkConfigObject(config, 'TSPNConfig');
  checkKnownFields(config, FIELDS);
  const resolved: ResolvedTSPNConfig = {
    setDim: config.setDim,
    maxSize: config.maxSize,
    initialSetDim: config.initialSetDim ?? 16,
    encoderHiddenUnits: config.encoderHiddenUnits ?? 256,
    latentDim: config.latentDim ?? 64,
    numPieces: config.numPieces ?? 20,
    modelDim: config.modelDim ?? 256,
    numHeads: config.numHeads ?? 4,
    numBlocks: config.numBlocks ?? 3,
    block: config.block ?? 'sab',
    numInducingPoints: config.numInducingPoints ?? 32,
    creation: config.creation ?? 'iid',
    referenceSize: config.referenceSize ?? 2 * config.maxSize,
    angleDim: config.angleDim ?? 4,
    creationHiddenUnits: config.creationHiddenUnits ?? 256,
    sizeHiddenUnits: config.sizeHiddenUnits ?? 128,
    learningRate: config.learningRate ?? 1e-3,
    batchSize: config.batchSize ?? 32,
    epochs: config.epochs ?? 100,
    seed: config.seed ?? 0,
  };
  for (const key of [
    'setDim',
    'maxSize',
    'initialSetDim',
    'encoderHiddenUnits',
    'latentDim',
    'numPieces',
    'modelDim',
    'numHeads',
    'numBlocks',
    'numInducingPoints',
    'referenceSize',
    'angleDim',
    'creationHiddenUnits',
    'sizeHiddenUnits',
    'batchSize',
  ] as const) {
    checkPositiveIntegerField(key, resolved[key]);
  }
  checkPositiveField('learningRate', resolved.learningRate);
  checkPositiveField('epochs', resolved.epochs);
  checkIntegerField('seed', resolved.seed);
  checkChoiceField('block', resolved.block, ['sab', 'isab'] as const);
  checkChoiceField('creation', resolved.creation, CREATION_KINDS);
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

/** The reference port's Set-MNIST settings (REFERENCES.md §6). */
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
