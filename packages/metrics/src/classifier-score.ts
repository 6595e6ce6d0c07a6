/**
 * A sample-quality score from a classifier's predictions, for any labelled set data (an
 * Inception-score-like pair; Salimans et al. 2016 use the same two ingredients):
 *
 * - `confident`: the fraction of sets whose most probable class has probability ≥ threshold
 *   (and is not the reject class): "reads clearly as one class";
 * - `histogramEntropy`: the entropy (nats) of the histogram of predicted classes over the
 *   sets that are not rejected: "covers the classes" (log C when every class is equally
 *   frequent, 0 when one class takes everything);
 * - `inceptionScore` = exp(mean_i KL(p(y | x_i) ‖ p̄(y))), p̄ the mean prediction (over all
 *   sets and all classes, the reject class included).
 *
 * Report the same numbers for real held-out sets beside those of generated ones: the
 * classifier's own accuracy bounds what generated sets can reach.
 */
import { ConfigError, DataError } from '@setgen/ops';

/** Options of {@link classifierScore}. */
export interface ClassifierScoreOptions {
  /** A set counts as confident when its top probability is ≥ this. Default 0.9. */
  threshold?: number;
  /**
   * Index of a "none of the classes" output (e.g. a classifier trained with a noise class):
   * sets predicted as it are never confident and stay out of the histogram. Default none.
   */
  rejectClass?: number;
}

/** What {@link classifierScore} returns. */
export interface ClassifierScore {
  /** Fraction of sets with top probability ≥ threshold on a class other than the reject class. */
  confident: number;
  /** Fraction of sets whose top class is the reject class (0 without one). */
  rejected: number;
  /** Entropy (nats) of the predicted-class histogram over the non-rejected sets (0 if none). */
  histogramEntropy: number;
  /** log(number of classes other than the reject class): the histogram entropy's maximum. */
  maxEntropy: number;
  /** exp(mean KL(p(y|x) ‖ p̄(y))), in [1, C]. */
  inceptionScore: number;
  /** Sets per predicted (argmax) class, length C. */
  histogram: number[];
}

/** `x·log x` with 0·log 0 = 0. */
function xlogx(x: number): number {
  return x > 0 ? x * Math.log(x) : 0;
}

/**
 * Scores `probabilities` (row-major `[N, numClasses]`, each row a distribution: entries in
 * [0, 1] summing to 1 within 1e-3). Throws `DataError` for a malformed row and `ConfigError`
 * for bad options, before computing anything.
 */
export function classifierScore(
  probabilities: ArrayLike<number>,
  numClasses: number,
  { threshold = 0.9, rejectClass }: ClassifierScoreOptions = {},
): ClassifierScore {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new ConfigError(`numClasses: expected an integer ≥ 2, got ${numClasses}`);
  }
  if (!(threshold > 0 && threshold <= 1)) {
    throw new ConfigError(`options.threshold: expected a number in (0, 1], got ${threshold}`);
  }
  if (
    rejectClass !== undefined &&
    !(Number.isInteger(rejectClass) && rejectClass >= 0 && rejectClass < numClasses)
  ) {
    throw new ConfigError(
      `options.rejectClass: expected an integer in [0, ${numClasses - 1}], got ${rejectClass}`,
    );
  }
  const length = probabilities?.length;
  if (typeof length !== 'number' || length === 0 || length % numClasses !== 0) {
    throw new DataError(
      `probabilities: expected a non-empty row-major [N, ${numClasses}] array, got length ${length}`,
    );
  }
  const n = length / numClasses;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < numClasses; c++) {
      const p = probabilities[i * numClasses + c];
      if (!(p >= 0 && p <= 1)) {
        throw new DataError(`probabilities[${i}][${c}]: expected a probability in [0, 1], got ${p}`);
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > 1e-3) {
      throw new DataError(`probabilities[${i}]: expected a row summing to 1, got ${sum}`);
    }
  }

  const histogram = new Array<number>(numClasses).fill(0);
  const mean = new Float64Array(numClasses);
  let confident = 0;
  let rejected = 0;
  let rowEntropy = 0;
  for (let i = 0; i < n; i++) {
    let top = 0;
    for (let c = 0; c < numClasses; c++) {
      const p = probabilities[i * numClasses + c];
      if (p > probabilities[i * numClasses + top]) top = c;
      mean[c] += p / n;
      rowEntropy -= xlogx(p) / n;
    }
    histogram[top]++;
    if (top === rejectClass) rejected++;
    else if (probabilities[i * numClasses + top] >= threshold) confident++;
  }
  const kept = n - rejected;
  let histogramEntropy = 0;
  if (kept > 0) {
    histogram.forEach((count, c) => {
      if (c !== rejectClass) histogramEntropy -= xlogx(count / kept);
    });
  }
  // mean_i KL(p_i ‖ p̄) = H(p̄) − mean_i H(p_i)
  let meanEntropy = 0;
  for (let c = 0; c < numClasses; c++) meanEntropy -= xlogx(mean[c]);
  return {
    confident: confident / n,
    rejected: rejected / n,
    histogramEntropy,
    maxEntropy: Math.log(rejectClass === undefined ? numClasses : numClasses - 1),
    inceptionScore: Math.exp(Math.max(0, meanEntropy - rowEntropy)),
    histogram,
  };
}
