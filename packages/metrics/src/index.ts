export { approxMatchDistance } from './approx-match.js';
export { type ChamferKernel, chamferKernel, type PointCloudIndex } from './chamfer-kernel.js';
export { type ClassifierScore, type ClassifierScoreOptions, classifierScore } from './classifier-score.js';
export {
  type ComputeAllMetricsOptions,
  computeAllMetrics,
  EVALUATED_PAIRS,
  type GenerationMetrics,
  metricsFromMatrices,
} from './compute-all-metrics.js';
export {
  type CloudDistance,
  computeDistanceMatrices,
  type DistanceMatrices,
  type EmdMethod,
  type EvaluationControl,
  type PairTask,
  type PairwiseExecutor,
  type PairwiseJob,
  type TaskSource,
} from './distance-matrices.js';
export { computePrunedEmdMatrices, type EmdPruning, type PairCounts } from './emd-pruning.js';
export {
  gridCounts,
  type JsdOptions,
  jensenShannonDivergence,
  jsdBetweenPointCloudSets,
  type OccupancyGrid,
  occupancyGrid,
} from './jsd.js';
export {
  coverage,
  minimumMatchingDistance,
  type OneNearestNeighborResult,
  oneNearestNeighborAccuracy,
  oneNearestNeighborClassification,
} from './matrix-metrics.js';
export {
  type BoundingBoxOptions,
  boundingBoxViolation,
  type ConstrainedLoss,
  type ConstrainedLossOptions,
  cardinalityDistance,
  constrainedLoss,
  diversityScore,
  incorrectValencyFraction,
  integerWasserstein,
  minimumDistanceViolation,
  uniformTransportCost,
  type ValencyOptions,
  valencies,
  valencyDistributionDistance,
  valencyHistogram,
} from './molecule-metrics.js';
export type { PointClouds } from './point-clouds.js';
export {
  boxIoU,
  everyPointAveragePrecision,
  type SetPrediction,
  type SetPredictionAPOptions,
  setPredictionAP,
} from './set-prediction-ap.js';
export {
  type SetPredictionErrors,
  type SetPredictionErrorsOptions,
  setPredictionErrors,
} from './set-prediction-errors.js';
