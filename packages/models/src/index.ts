export { CREATION_KINDS, type CreationKind } from './creation.js';
export { DSPN, type DSPNPrediction, type PredictOptions } from './dspn.js';
export {
  DSPN_DECODERS,
  type DSPNConfig,
  type DSPNDecoder,
  dspnPresets,
  type ResolvedDSPNConfig,
  resolveDSPNConfig,
} from './dspn-config.js';
export * from './one-shot-set-vae.js';
export * from './runtime/index.js';
export { ScheduledAdam } from './scheduled-adam.js';
export { SetVAE } from './setvae.js';
export {
  type ResolvedSetVAEConfig,
  resolveSetVAEConfig,
  type SetVAEConfig,
  type SetVAEOutputMap,
  setVAEPresets,
} from './setvae-config.js';
export type {
  LevelAttention,
  LevelLatents,
  ReconstructOptions,
  SampleOptions,
  SetVAEEncoding,
  SetVAELoss,
  SetVAEOutput,
} from './setvae-types.js';
export { TSPN, type TSPNPrediction, type TSPNPredictOptions } from './tspn.js';
export { type ResolvedTSPNConfig, resolveTSPNConfig, type TSPNConfig, tspnPresets } from './tspn-config.js';
