export { type ChamferOptions, chamferDistance } from './chamfer-distance.js';
export {
  type ChamferHostOptions,
  chamferDistanceHost,
  chamferDistanceHostBatch,
} from './chamfer-host.js';
export { type EarthMoversDistanceOptions, earthMoversDistance } from './earth-movers-distance.js';
export * from './errors.js';
export {
  type HungarianLossOptions,
  type HungarianMatchingOptions,
  hungarianLoss,
  hungarianMatching,
} from './hungarian.js';
export * from './linalg.js';
export {
  type LinearSumAssignmentOptions,
  type LinearSumAssignmentResult,
  linearSumAssignment,
} from './linear-sum-assignment.js';
export * from './mask.js';
export * from './npy.js';
export {
  checkPairCost,
  checkPointReduction,
  type HostPairCost,
  hostPairCost,
  type PairCost,
  type PointReduction,
  pairCostRows,
} from './pair-cost.js';
export { pairwiseSquaredDistances } from './pairwise-distances.js';
export * from './random.js';
export * from './set-batch.js';
export { type SinkhornOptions, sinkhornDistance } from './sinkhorn-distance.js';
export * from './split-rows.js';
