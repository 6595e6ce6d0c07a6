export * from './errors.js';
export * from './mask.js';
export * from './random.js';
export * from './set-batch.js';
export * from './linalg.js';
export * from './npy.js';
export {
  linearSumAssignment,
  type LinearSumAssignmentOptions,
  type LinearSumAssignmentResult,
} from './linear-sum-assignment.js';
export { pairwiseSquaredDistances } from './pairwise-distances.js';
export {
  type PairCost,
  type PointReduction,
  type HostPairCost,
  checkPairCost,
  checkPointReduction,
  hostPairCost,
} from './pair-cost.js';
export {
  chamferDistanceHost,
  chamferDistanceHostBatch,
  type ChamferHostOptions,
} from './chamfer-host.js';
export { chamferDistance, type ChamferOptions } from './chamfer-distance.js';
export { sinkhornDistance, type SinkhornOptions } from './sinkhorn-distance.js';
export {
  hungarianLoss,
  hungarianMatching,
  type HungarianLossOptions,
  type HungarianMatchingOptions,
} from './hungarian.js';
export { earthMoversDistance, type EarthMoversDistanceOptions } from './earth-movers-distance.js';
