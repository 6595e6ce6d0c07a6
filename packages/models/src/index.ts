export * from './runtime/index.js';
export { ScheduledAdam } from './scheduled-adam.js';
export {
  type LevelAttention,
  type LevelLatents,
  type ReconstructOptions,
  type SampleOptions,
  SetVAE,
  type SetVAEEncoding,
  type SetVAELoss,
  type SetVAEOutput,
} from './setvae.js';
export {
  type ResolvedSetVAEConfig,
  resolveSetVAEConfig,
  type SetVAEConfig,
  type SetVAEOutputMap,
  setVAEPresets,
} from './setvae-config.js';
