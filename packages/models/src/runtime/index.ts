// The models runtime: what every model needs besides its math.
export { CHECKPOINT_FORMAT, type Checkpoint, type TrainingRecord } from './checkpoint.js';
export {
  type BatchSource,
  checkFitArguments,
  type FitData,
  type FitOptions,
  type FitResult,
  type TrainProgress,
} from './fit.js';
export {
  disposeTrainer,
  loadModel,
  loadWeights,
  registeredModels,
  registerModel,
  saveModel,
  trainerOf,
} from './registry.js';
export {
  constantLearningRate,
  type LearningRateSchedule,
  type LossWeightSchedule,
  linearDecay,
  linearWarmup,
  type ReduceOnPlateauOptions,
  reduceOnPlateau,
  type SchedulePosition,
} from './schedules.js';
export { configSeed, mixSeed, stepSeed } from './seeds.js';
export type {
  LossOptions,
  LossTerms,
  NamedVariable,
  SetModel,
  SetModelClass,
  TrainBatch,
  TrainingPlan,
} from './set-model.js';
export { layerWeights } from './set-model.js';
export { shardBounds, shardSeed } from './shards.js';
export { SizeHistogram } from './size-histogram.js';
export { fit, TrainableSetModel, trainStep } from './trainable-set-model.js';
export {
  DivergenceError,
  NonFiniteBatchError,
  type ShardJob,
  type ShardRunner,
  type StepResult,
  Trainer,
  type TrainingPosition,
  type TrainStepOptions,
} from './trainer.js';
