// The public surface of @setgen/ops: the set types, errors, masks, distances, losses and
// matchings of API.md, plus the host kernels and seeded randomness users build on. Plumbing
// shared by the @setgen packages (argument checks, batchMatMul, splitRows, ...) lives in
// `@setgen/ops/internal`; the names re-exported at the end are kept here, deprecated, so
// existing imports keep working for this minor version.
export {
  CHAMFER_NEIGHBOURS_FLAG,
  type ChamferOptions,
  chamferDistance,
  type NeighbourSearch,
} from './chamfer-distance.js';
export {
  type ChamferHostOptions,
  chamferDistanceHost,
  chamferDistanceHostBatch,
} from './chamfer-host.js';
export { type EarthMoversDistanceOptions, earthMoversDistance } from './earth-movers-distance.js';
export * from './errors.js';
export { type PaddedSets, type PadOptions, padSets, toHostSets, toSetBatch } from './host-sets.js';
export {
  type HungarianLossOptions,
  type HungarianMatchingOptions,
  hungarianLoss,
  hungarianMatching,
} from './hungarian.js';
// Deprecated here: import these from '@setgen/ops/internal'.
export {
  /** @deprecated import from '@setgen/ops/internal' */
  batchMatMul,
  /** @deprecated import from '@setgen/ops/internal' */
  gatherRows,
} from './linalg.js';
export {
  type LinearSumAssignmentOptions,
  type LinearSumAssignmentResult,
  linearSumAssignment,
} from './linear-sum-assignment.js';
export { maskFromSizes } from './mask.js';
export * from './npy.js';
export type { PairCost, PointReduction } from './pair-cost.js';
export {
  /** @deprecated import from '@setgen/ops/internal' */
  checkPairCost,
  /** @deprecated import from '@setgen/ops/internal' */
  checkPointReduction,
  /** @deprecated import from '@setgen/ops/internal' */
  type HostPairCost,
  /** @deprecated import from '@setgen/ops/internal' */
  hostPairCost,
} from './pair-cost.js';
export { pairwiseSquaredDistances } from './pairwise-distances.js';
export * from './random.js';
export {
  asSetBatch,
  /** @deprecated import from '@setgen/ops/internal' */
  checkHostSet,
  /** @deprecated import from '@setgen/ops/internal' */
  checkReduction,
  type HostSet,
  type Reduction,
  type SetBatch,
  type SetLike,
} from './set-batch.js';
export { type SinkhornOptions, sinkhornDistance } from './sinkhorn-distance.js';
export {
  /** @deprecated import from '@setgen/ops/internal' */
  splitRows,
} from './split-rows.js';
