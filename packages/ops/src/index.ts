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
export * from './pairwise-distances.js';
export * from './pair-cost.js';
export * from './chamfer-host.js';
export * from './chamfer-distance.js';
export * from './sinkhorn-distance.js';
export * from './hungarian.js';
