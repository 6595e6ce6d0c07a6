/**
 * PointFlow's `compute_all_metrics` (REFERENCES.md §3.5–3.6, §3.8): MMD, COV and 1-NNA of a
 * generated collection against a reference collection, under Chamfer (CD) and earth mover's
 * distance (EMD).
 *
 * - CD(X, Y) = mean_i min_j ‖x_i − y_j‖² + mean_j min_i ‖x_i − y_j‖² (squared, mean of mins).
 * - EMD(X, Y) = min_π mean_i ‖x_i − y_π(i)‖ (Euclidean, exact assignment, equal sizes). PointFlow
 *   itself reports the CUDA `approxmatch` heuristic, an upper bound 11–23 % above the exact value
 *   on the shared fixture, so its EMD numbers are not comparable with ours; `emd: 'auction'` is
 *   a faster solver within ~1e-6 relative of the exact value.
 */
import { ConfigError } from '@setgen/ops';
import { checkOptions, is } from '@setgen/ops/internal';
import {
  abortError,
  type CloudDistance,
  computeDistanceMatrices,
  type DistanceMatrices,
  type EmdMethod,
  type EvaluationControl,
  isOrdered,
  localExecutor,
  type PairwiseExecutor,
  pairCount,
} from './distance-matrices.js';
import { computePrunedEmdMatrices, type EmdPruning, type PairCounts } from './emd-pruning.js';
import { coverage, minimumMatchingDistance, oneNearestNeighborAccuracy } from './matrix-metrics.js';
import { checkComparable, type PointClouds, readPointClouds } from './point-clouds.js';

/** Options of {@link computeAllMetrics}. */
export interface ComputeAllMetricsOptions<D extends CloudDistance = CloudDistance> extends EvaluationControl {
  /** Distances to evaluate; default `['cd', 'emd']`. */
  distances?: readonly D[];
  /** EMD solver; default `'exact'`. */
  emd?: EmdMethod;
  /**
   * `'bounds'` (default with `emd: 'exact'`): compute only the exact EMDs the metrics can
   * depend on — each row's nearest-neighbour search skips pairs whose lower bound exceeds the
   * best exact value found (emd-pruning.ts) — with the same results as the full matrices.
   * `'none'`: every pair (the only choice for `'auction'` and `'pointflow-approx'`, whose
   * values are not the exact metric the bounds hold for).
   */
  emdPruning?: EmdPruning;
  /**
   * Pairs per work unit (progress granularity); default: about 50 ms of work. The pruned EMD
   * search hands out single pairs and ignores it.
   */
  batchSize?: number;
}

/**
 * Key of the pair counts on a {@link computeAllMetrics} result: `result[EVALUATED_PAIRS].emd`
 * = `{ computed, total }`, the pairs whose distance was computed of the full matrices' total
 * (fewer for EMD with `emdPruning: 'bounds'`). A symbol, not enumerable: `Object.keys`,
 * spreads, `JSON.stringify` and `Record<string, number>` see the metrics only.
 */
export const EVALUATED_PAIRS: unique symbol = Symbol.for('@setgen/metrics.evaluatedPairs');

/** `{ 'MMD-CD', 'COV-CD', '1-NNA-CD' }` and/or the same three for EMD (+ {@link EVALUATED_PAIRS}). */
export type GenerationMetrics<D extends CloudDistance = CloudDistance> = {
  [K in `${'MMD' | 'COV' | '1-NNA'}-${Uppercase<D>}`]: number;
} & { readonly [EVALUATED_PAIRS]: { [K in D]: PairCounts } };

/** Checks the options (before any work); returns them with defaults. */
export function checkMetricsOptions<D extends CloudDistance>(
  options: ComputeAllMetricsOptions<D>,
): { distances: readonly D[]; emd: EmdMethod; emdPruning: EmdPruning; batchSize?: number } {
  const checked = checkOptions(
    options,
    {
      distances: is.any,
      emd: is.oneOf(['exact', 'auction', 'pointflow-approx'] as const),
      emdPruning: is.oneOf(['bounds', 'none'] as const),
      batchSize: is.integer(1),
      onProgress: is.function,
      signal: is.any,
    },
    'options',
  );
  const distances = (checked.distances ?? ['cd', 'emd']) as readonly D[];
  if (
    !Array.isArray(distances) ||
    distances.length === 0 ||
    distances.some((d) => d !== 'cd' && d !== 'emd')
  ) {
    throw new ConfigError(
      `options.distances: expected a non-empty array of 'cd' | 'emd', got ${JSON.stringify(distances)}`,
    );
  }
  const emd = checked.emd ?? 'exact';
  if (checked.emdPruning === 'bounds' && emd !== 'exact') {
    throw new ConfigError(
      `options.emdPruning: 'bounds' needs emd: 'exact' (its bounds hold for the exact EMD), got emd: '${emd}'; use emdPruning: 'none'`,
    );
  }
  const emdPruning = checked.emdPruning ?? (emd === 'exact' ? 'bounds' : 'none');
  const { batchSize } = checked;
  const { signal } = options;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || !('aborted' in signal))) {
    throw new ConfigError('options.signal: expected an AbortSignal');
  }
  return { distances, emd, emdPruning, batchSize };
}

const sum = (values: readonly number[]) => values.reduce((t, v) => t + v, 0);

/** MMD, COV and 1-NNA of one distance's matrices. */
export function metricsFromMatrices(m: DistanceMatrices): { MMD: number; COV: number; '1-NNA': number } {
  return {
    MMD: minimumMatchingDistance(m.genRef, m.nGen, m.nRef),
    COV: coverage(m.genRef, m.nGen, m.nRef),
    '1-NNA': oneNearestNeighborAccuracy(m.genGen, m.refRef, m.genRef, m.nGen, m.nRef),
  };
}

/**
 * Evaluates with a given executor (the single-threaded one here, a worker pool in
 * `@setgen/metrics/node`). Progress counts pairs over all requested distances.
 */
export async function computeAllMetricsWith<D extends CloudDistance>(
  executor: PairwiseExecutor,
  generated: PointClouds,
  reference: PointClouds,
  options: ComputeAllMetricsOptions<D>,
): Promise<GenerationMetrics<D>> {
  const { distances, emd, emdPruning, batchSize } = checkMetricsOptions(options);
  checkComparable(generated, reference, {
    // an assignment needs equal sizes; approxmatch spreads unequal masses (as PointFlow's CUDA code)
    equalSizes: distances.includes('emd' as D) && emd !== 'pointflow-approx',
    reason: ' (EMD needs equal sizes)',
  });
  const { onProgress, signal } = options;
  if (signal?.aborted) throw abortError(signal);
  const genSets = await readPointClouds(generated, 'generated');
  const refSets = await readPointClouds(reference, 'reference');
  const nGen = genSets.length;
  const nRef = refSets.length;
  const counts = distances.map((distance) => pairCount(nGen, nRef, isOrdered({ distance, emd })));
  const total = sum(counts);
  const result: Record<string, number> = {};
  const pairs: Record<string, PairCounts> = {};
  for (const [k, distance] of distances.entries()) {
    const job = { clouds: [...genSets, ...refSets], nGen, nRef, distance, emd };
    const control = {
      signal,
      onProgress: onProgress && ((done: number) => onProgress(sum(counts.slice(0, k)) + done, total)),
    };
    let matrices: DistanceMatrices;
    if (distance === 'emd' && emdPruning === 'bounds') {
      ({ matrices, pairs: pairs[distance] } = await computePrunedEmdMatrices(job, executor, control));
    } else {
      matrices = await computeDistanceMatrices(job, executor, { ...control, pairsPerTask: batchSize });
      pairs[distance] = { computed: counts[k], total: counts[k] };
    }
    const tag = distance.toUpperCase();
    for (const [name, value] of Object.entries(metricsFromMatrices(matrices)))
      result[`${name}-${tag}`] = value;
  }
  Object.defineProperty(result, EVALUATED_PAIRS, { value: pairs, enumerable: false });
  return result as GenerationMetrics<D>;
}

/**
 * MMD, COV and 1-NNA under CD and/or EMD, exactly as PointFlow defines them (see the file
 * comment and `matrix-metrics.ts`). Single-threaded; `@setgen/metrics/node` exports a version
 * with the same signature that uses every core.
 *
 * @param generated generated clouds: HostSet[] or a `[K, N, D]` tensor (not disposed).
 * @param reference reference clouds, same dimensionality (and N, for EMD).
 */
export function computeAllMetrics<D extends CloudDistance = CloudDistance>(
  generated: PointClouds,
  reference: PointClouds,
  options: ComputeAllMetricsOptions<D> = {},
): Promise<GenerationMetrics<D>> {
  return computeAllMetricsWith(localExecutor, generated, reference, options);
}
