/**
 * PointFlow's generation metrics on precomputed distance matrices (REFERENCES.md §3.5–3.6;
 * PointFlow `lgan_mmd_cov` and `knn`, which Achlioptas et al. and PointFlow (Yang et al. 2019,
 * §5) define).
 *
 * Layout (ours, row-major Float64Array):
 *   dGenRef [nGen, nRef]: dGenRef[g * nRef + r] = d(generated g, reference r)
 *   dGenGen [nGen, nGen], dRefRef [nRef, nRef] (diagonals are ignored).
 * PointFlow builds M_rs = pairwise(ref, sample), i.e. [nRef, nGen], and passes its transpose
 * to `lgan_mmd_cov`; our dGenRef is that transpose. The shared fixture stores M_rs.
 *
 * Ties (PointFlow leaves them to torch's `min`/`topk`): the FIRST minimal index wins — for
 * COV the lowest reference index, for 1-NNA the first cloud in the pooled order
 * [references..., generated...], so a reference/generated tie predicts "reference".
 */
import { DataError, ShapeError } from '@setgen/ops';

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ShapeError(`${name}: expected an integer ≥ 1, got ${value}`);
  }
}

function checkMatrix(
  matrix: ArrayLike<number>,
  rows: number,
  cols: number,
  name: string,
  withinCollection = false,
): void {
  if (!matrix || typeof matrix.length !== 'number' || matrix.length !== rows * cols) {
    throw new ShapeError(
      `${name}: expected a row-major [${rows},${cols}] matrix of length ${rows * cols}, got length ${matrix?.length}`,
    );
  }
  for (let i = 0; i < matrix.length; i++) {
    const v = matrix[i];
    // the diagonal of a within-collection matrix (self-distances) is never read
    if (withinCollection && i % (cols + 1) === 0) continue;
    if (Number.isNaN(v)) {
      throw new DataError(`${name}: expected distances, got NaN at [${Math.floor(i / cols)},${i % cols}]`);
    }
  }
}

/**
 * MMD (minimum matching distance): for every reference cloud, the distance to its nearest
 * generated cloud, averaged over the references (PointFlow Eq. in §5: MMD(S_g, S_r) =
 * 1/|S_r| Σ_{Y∈S_r} min_{X∈S_g} D(X, Y)). Lower is better.
 */
export function minimumMatchingDistance(dGenRef: ArrayLike<number>, nGen: number, nRef: number): number {
  checkCount(nGen, 'nGen');
  checkCount(nRef, 'nRef');
  checkMatrix(dGenRef, nGen, nRef, 'dGenRef');
  let total = 0;
  for (let r = 0; r < nRef; r++) {
    let best = Number.POSITIVE_INFINITY;
    for (let g = 0; g < nGen; g++) best = Math.min(best, dGenRef[g * nRef + r]);
    total += best;
  }
  return total / nRef;
}

/**
 * COV (coverage): the fraction of reference clouds that are the nearest reference of at least
 * one generated cloud, |{argmin_Y D(X, Y) : X ∈ S_g}| / |S_r|, in [0, 1]. Higher is better.
 */
export function coverage(dGenRef: ArrayLike<number>, nGen: number, nRef: number): number {
  checkCount(nGen, 'nGen');
  checkCount(nRef, 'nRef');
  checkMatrix(dGenRef, nGen, nRef, 'dGenRef');
  const covered = new Uint8Array(nRef);
  for (let g = 0; g < nGen; g++) {
    let best = 0;
    for (let r = 1; r < nRef; r++) if (dGenRef[g * nRef + r] < dGenRef[g * nRef + best]) best = r;
    covered[best] = 1;
  }
  return covered.reduce((sum, c) => sum + c, 0) / nRef;
}

/** 1-NNA with its two halves: accuracy on the references and on the generated clouds. */
export interface OneNearestNeighborResult {
  /** Fraction of all clouds whose nearest other cloud has their label (0.5 is ideal). */
  accuracy: number;
  /** Accuracy on the references (PointFlow's `acc_t`). */
  referenceAccuracy: number;
  /** Accuracy on the generated clouds (PointFlow's `acc_f`). */
  generatedAccuracy: number;
}

/**
 * 1-NNA with its per-collection accuracies: pool the references (label 1) and the generated
 * clouds (label 0); classify every cloud by the label of its nearest OTHER cloud (k = 1, the
 * cloud itself excluded); report the fraction classified correctly.
 */
export function oneNearestNeighborClassification(
  dGenGen: ArrayLike<number>,
  dRefRef: ArrayLike<number>,
  dGenRef: ArrayLike<number>,
  nGen: number,
  nRef: number,
): OneNearestNeighborResult {
  checkCount(nGen, 'nGen');
  checkCount(nRef, 'nRef');
  checkMatrix(dGenGen, nGen, nGen, 'dGenGen', true);
  checkMatrix(dRefRef, nRef, nRef, 'dRefRef', true);
  checkMatrix(dGenRef, nGen, nRef, 'dGenRef');
  // nearest other cloud, references first in the pooled order (first minimum wins)
  const nearestIsReference = (
    distanceToRef: (r: number) => number,
    distanceToGen: (g: number) => number,
  ): boolean => {
    let best = Number.POSITIVE_INFINITY;
    let isReference = false;
    for (let r = 0; r < nRef; r++) {
      const v = distanceToRef(r);
      if (v < best) {
        best = v;
        isReference = true;
      }
    }
    for (let g = 0; g < nGen; g++) {
      const v = distanceToGen(g);
      if (v < best) {
        best = v;
        isReference = false;
      }
    }
    return isReference;
  };
  let correctRef = 0;
  for (let r0 = 0; r0 < nRef; r0++) {
    const isRef = nearestIsReference(
      (r) => (r === r0 ? Number.POSITIVE_INFINITY : dRefRef[r * nRef + r0]),
      (g) => dGenRef[g * nRef + r0],
    );
    if (isRef) correctRef++;
  }
  let correctGen = 0;
  for (let g0 = 0; g0 < nGen; g0++) {
    const isRef = nearestIsReference(
      (r) => dGenRef[g0 * nRef + r],
      (g) => (g === g0 ? Number.POSITIVE_INFINITY : dGenGen[g * nGen + g0]),
    );
    if (!isRef) correctGen++;
  }
  return {
    accuracy: (correctRef + correctGen) / (nRef + nGen),
    referenceAccuracy: correctRef / nRef,
    generatedAccuracy: correctGen / nGen,
  };
}

/** 1-NNA accuracy (see {@link oneNearestNeighborClassification}); 0.5 is ideal, 1 means separable. */
export function oneNearestNeighborAccuracy(
  dGenGen: ArrayLike<number>,
  dRefRef: ArrayLike<number>,
  dGenRef: ArrayLike<number>,
  nGen: number,
  nRef: number,
): number {
  return oneNearestNeighborClassification(dGenGen, dRefRef, dGenRef, nGen, nRef).accuracy;
}
