export { CHECKPOINT_FORMAT, type Checkpoint, type TrainingPosition } from './checkpoint.js';
export { ScheduledAdam } from './scheduled-adam.js';
export { klWeight, linearDecayAfterHalf } from './schedules.js';
export {
  type LevelAttention,
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
export type { FitOptions, FitResult, TrainableModel, TrainProgress } from './training.js';
export * from './one-shot-set-vae.js';
