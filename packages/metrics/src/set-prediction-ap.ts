/**
 * Average precision of predicted sets, as DSPN evaluates CLEVR (REFERENCES.md §4.7; DSPN's
 * modified rafaelpadilla/Object-Detection-Metrics, Pascal VOC every-point interpolation):
 *
 * - every predicted element is a detection, its confidence = the predicted mask value (DSPN
 *   exports all N elements, no threshold); target rows that are all zero are padding (skipped);
 * - detections of all images are sorted by confidence, descending (stable: image order, then
 *   element order on ties); each takes its best target in the same image — the highest IoU
 *   (`kind: 'box'`), or the nearest target with the same attributes (`kind: 'state'`) — and is
 *   a true positive if the criterion holds and that target is not taken yet, else a false
 *   positive;
 * - box criterion: IoU ≥ threshold, IoU with continuous areas (x2−x1)(y2−y1) (the fixed
 *   September 2020 version; before it, areas used a pixel "+1" and inflated IoU);
 * - state criterion: the argmax of every attribute group equal (CLEVR: material 2, colour 8,
 *   shape 3, size 2) and ‖scale·(target xyz − predicted xyz)‖ ≤ threshold (DSPN stores xyz/3,
 *   so scale = 3; thresholds ∞, 1, 0.5, 0.25, 0.125);
 * - AP = Σ_i (r_i − r_{i−1}) · max_{r ≥ r_i} precision(r).
 */
import { ConfigError, DataError, type HostSet, ShapeError } from '@setgen/ops';
import { type Check, checkOptions, is } from '@setgen/ops/internal';

/** The predicted set of one image with a confidence per element (DSPN: its mask value). */
export interface SetPrediction {
  elements: HostSet;
  confidence: ArrayLike<number>;
}

/** Options of {@link setPredictionAP}. */
export interface SetPredictionAPOptions {
  /** IoU threshold (`'box'`, a TP needs IoU ≥ it) or distance threshold (`'state'`, ≤ it; may be Infinity). */
  threshold: number;
  /** `'box'`: elements are (x1, y1, x2, y2); `'state'`: xyz then one-hot attribute groups. Default `'box'`. */
  kind?: 'box' | 'state';
  /** Sizes of the attribute groups after xyz (`'state'`); default CLEVR's `[2, 8, 3, 2]`. */
  attributeSizes?: readonly number[];
  /** Factor applied to xyz differences (`'state'`); default 3 (DSPN stores xyz / 3). */
  coordinateScale?: number;
}

/** Intersection over union of two (x1, y1, x2, y2) boxes with continuous areas; 0 if disjoint. */
export function boxIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const width = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const height = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (width <= 0 || height <= 0) return 0;
  const intersection = width * height;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection;
  return union > 0 ? Math.max(0, intersection / union) : 0;
}

/** Pascal VOC every-point interpolated AP of a ranked list (1 = TP, 0 = FP) with `positives` targets. */
export function everyPointAveragePrecision(truePositive: ArrayLike<number>, positives: number): number {
  const k = truePositive.length;
  const recall = new Float64Array(k + 2);
  const precision = new Float64Array(k + 2);
  let tp = 0;
  for (let i = 0; i < k; i++) {
    tp += truePositive[i];
    recall[i + 1] = positives > 0 ? tp / positives : 0;
    precision[i + 1] = tp / (i + 1);
  }
  recall[k + 1] = 1;
  // monotone envelope from the right
  for (let i = k; i >= 1; i--) precision[i - 1] = Math.max(precision[i - 1], precision[i]);
  let ap = 0;
  for (let i = 1; i < k + 2; i++)
    if (recall[i] !== recall[i - 1]) ap += (recall[i] - recall[i - 1]) * precision[i];
  return ap;
}

function argmaxGroups(row: ArrayLike<number>, offset: number, sizes: readonly number[]): string {
  const out: number[] = [];
  let start = offset;
  for (const size of sizes) {
    let best = 0;
    for (let c = 1; c < size; c++) if (row[start + c] > row[start + best]) best = c;
    out.push(best);
    start += size;
  }
  return out.join(',');
}

/** AP of predicted sets against target sets (see the file comment). One entry per image. */
export function setPredictionAP(
  predictions: readonly SetPrediction[],
  targets: readonly HostSet[],
  options: SetPredictionAPOptions,
): number {
  const {
    threshold,
    kind = 'box',
    attributeSizes = [2, 8, 3, 2],
    coordinateScale = 3,
  } = checkOptions(
    options,
    {
      threshold: is.number({ infinite: true }),
      kind: is.oneOf(['box', 'state'] as const),
      attributeSizes: is.any as Check<readonly number[]>,
      coordinateScale: is.number(),
    },
    'options',
  );
  if (threshold === undefined) {
    throw new ConfigError('options.threshold: expected a number (IoU or distance), got undefined');
  }
  const d = kind === 'box' ? 4 : 3 + attributeSizes.reduce((s, v) => s + v, 0);
  if (!Array.isArray(predictions) || !Array.isArray(targets) || predictions.length !== targets.length) {
    throw new ShapeError(
      `targets: expected one target set per prediction (${Array.isArray(predictions) ? predictions.length : '?'}), got ${
        Array.isArray(targets) ? targets.length : typeof targets
      }`,
    );
  }
  const check = (set: HostSet, name: string) => {
    if (!set || set.d !== d || !set.values || set.values.length !== set.n * set.d) {
      throw new ShapeError(
        `${name}: expected a HostSet of ${kind === 'box' ? 'boxes' : 'states'} with d = ${d}, got d = ${set?.d}`,
      );
    }
    for (let i = 0; i < set.values.length; i++) {
      if (Number.isNaN(set.values[i]))
        throw new DataError(`${name}: expected numbers, got NaN at element ${Math.floor(i / d)}`);
    }
  };
  predictions.forEach((p, i) => {
    check(p?.elements, `predictions[${i}].elements`);
    if (!p.confidence || p.confidence.length !== p.elements.n) {
      throw new ShapeError(
        `predictions[${i}].confidence: expected ${p.elements.n} values, got ${p.confidence?.length}`,
      );
    }
  });
  targets.forEach((t, i) => {
    check(t, `targets[${i}]`);
  });

  // targets per image without all-zero padding rows
  const row = (set: HostSet, i: number) => set.values.subarray(i * d, (i + 1) * d);
  const targetRows = targets.map((t) =>
    Array.from({ length: t.n }, (_, i) => row(t, i)).filter((r) => r.some((v) => v !== 0)),
  );
  const positives = targetRows.reduce((s, rows) => s + rows.length, 0);
  const detections: { image: number; element: number; confidence: number }[] = [];
  predictions.forEach((p, image) => {
    for (let element = 0; element < p.elements.n; element++)
      detections.push({ image, element, confidence: p.confidence[element] });
  });
  detections.sort((a, b) => b.confidence - a.confidence); // stable
  const taken = targetRows.map((rows) => new Uint8Array(rows.length));
  const truePositive = new Uint8Array(detections.length);
  detections.forEach(({ image, element }, k) => {
    const det = row(predictions[image].elements, element);
    const rows = targetRows[image];
    let best = -1;
    // as the reference: a box needs IoU > 0 to be anyone's best
    let bestScore = kind === 'box' ? 0 : Number.POSITIVE_INFINITY;
    const detType = kind === 'state' ? argmaxGroups(det, 3, attributeSizes) : '';
    rows.forEach((gt, j) => {
      if (kind === 'box') {
        const iou = boxIoU(det, gt);
        if (iou > bestScore) {
          bestScore = iou;
          best = j;
        }
      } else if (argmaxGroups(gt, 3, attributeSizes) === detType) {
        const distance = coordinateScale * Math.hypot(gt[0] - det[0], gt[1] - det[1], gt[2] - det[2]);
        if (distance < bestScore) {
          bestScore = distance;
          best = j;
        }
      }
    });
    const hit = best >= 0 && (kind === 'box' ? bestScore >= threshold : bestScore <= threshold);
    if (hit && !taken[image][best]) {
      taken[image][best] = 1;
      truePositive[k] = 1;
    }
  });
  return everyPointAveragePrecision(truePositive, positives);
}
