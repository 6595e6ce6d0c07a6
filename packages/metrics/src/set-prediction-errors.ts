/**
 * Chamfer and Hungarian summaries of predicted sets against their targets (the two set losses
 * of DSPN, TSPN and Top-n used as evaluation numbers), per set and averaged over the sets.
 *
 * With c(x, y) the pair cost:
 * - Chamfer = mean_i min_j c(x_i, y_j) + mean_j min_i c(x_i, y_j) (directions added);
 * - Hungarian = mean over matched pairs of c under the optimal assignment
 *   (`linearSumAssignment` of `@setgen/ops`); for sizes n ≠ m, min(n, m) pairs are matched
 *   and the surplus elements cost nothing (DSPN instead matches padded sets with the mask as a
 *   feature — pad your sets that way to penalise a wrong cardinality).
 */
import { DataError, type HostSet, linearSumAssignment, ShapeError } from '@setgen/ops';
import { checkOptions, is } from '@setgen/ops/internal';

/** Options of {@link setPredictionErrors}. */
export interface SetPredictionErrorsOptions {
  /** `'sqeuclidean'` Σ_c Δ² (default) or `'euclidean'` ‖Δ‖ (Top-n, PointFlow's EMD). */
  pairCost?: 'sqeuclidean' | 'euclidean';
}

/** Mean Chamfer and Hungarian errors, and their values per set. */
export interface SetPredictionErrors {
  chamfer: number;
  hungarian: number;
  perSet: { chamfer: Float64Array; hungarian: Float64Array };
}

/** Chamfer and Hungarian errors of `predictions[i]` against `targets[i]` (see the file comment). */
export function setPredictionErrors(
  predictions: readonly HostSet[],
  targets: readonly HostSet[],
  options: SetPredictionErrorsOptions = {},
): SetPredictionErrors {
  const { pairCost = 'sqeuclidean' } = checkOptions(
    options,
    { pairCost: is.oneOf(['sqeuclidean', 'euclidean'] as const) },
    'options',
  );
  if (!Array.isArray(predictions) || predictions.length === 0) {
    throw new DataError('predictions: expected at least one predicted set');
  }
  if (!Array.isArray(targets) || targets.length !== predictions.length) {
    throw new ShapeError(
      `targets: expected ${predictions.length} sets like predictions, got ${Array.isArray(targets) ? targets.length : typeof targets}`,
    );
  }
  const check = (s: HostSet, name: string) => {
    if (!s?.values || !Number.isInteger(s.n) || s.n < 1 || s.values.length !== s.n * s.d) {
      throw new ShapeError(
        `${name}: expected a non-empty HostSet { values of length n·d, n ≥ 1, d }, got n = ${s?.n}, d = ${s?.d}`,
      );
    }
    for (let i = 0; i < s.values.length; i++) {
      if (!Number.isFinite(s.values[i]))
        throw new DataError(`${name}: expected finite values, got ${s.values[i]}`);
    }
  };
  predictions.forEach((p, i) => {
    check(p, `predictions[${i}]`);
    check(targets[i], `targets[${i}]`);
    if (targets[i].d !== p.d)
      throw new ShapeError(
        `targets[${i}]: expected d = ${p.d} like predictions[${i}], got d = ${targets[i].d}`,
      );
  });
  const k = predictions.length;
  const chamfer = new Float64Array(k);
  const hungarian = new Float64Array(k);
  for (let s = 0; s < k; s++) {
    const { values: x, n, d } = predictions[s];
    const { values: y, n: m } = targets[s];
    const cost = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let sq = 0;
        for (let c = 0; c < d; c++) sq += (x[i * d + c] - y[j * d + c]) ** 2;
        cost[i * m + j] = pairCost === 'euclidean' ? Math.sqrt(sq) : sq;
      }
    }
    const rowMin = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    const colMin = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const v = cost[i * m + j];
        if (v < rowMin[i]) rowMin[i] = v;
        if (v < colMin[j]) colMin[j] = v;
      }
    }
    const mean = (a: Float64Array) => a.reduce((t, v) => t + v, 0) / a.length;
    chamfer[s] = mean(rowMin) + mean(colMin);
    hungarian[s] = linearSumAssignment(cost, { rows: n, cols: m }).cost / Math.min(n, m);
  }
  const average = (a: Float64Array) => a.reduce((t, v) => t + v, 0) / k;
  return { chamfer: average(chamfer), hungarian: average(hungarian), perSet: { chamfer, hungarian } };
}
