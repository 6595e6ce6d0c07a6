// Evaluation of a trained SetVAE, shared by the main run, `--pretrained` and the learning
// curves of a long run: PointFlow's MMD / COV / 1-NNA against held-out sets, the digit
// classifier's sample score, and how the encoder's attention splits a set between inducing
// points.

import { toSetBatch } from '@setgen/data';
import type { ClassifierScore } from '@setgen/metrics';
import type { SetVAE, SetVAEOutput } from '@setgen/models';
import type { HostSet } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import { type DigitClassifier, resample } from './digit-classifier.js';
import { digitScore } from './digit-score.js';

/** Points per cloud in the evaluation (PointFlow's EMD matches equal-size clouds). */
export const EVAL_POINTS = 100;

/** Host copies of the valid rows of a padded batch. */
export function toHostSets(out: { x: tf.Tensor3D; mask: tf.Tensor2D }): HostSet[] {
  const [b, n, d] = out.x.shape;
  const x = out.x.dataSync();
  const m = out.mask.dataSync();
  return Array.from({ length: b }, (_, s) => {
    let count = 0;
    for (let i = 0; i < n; i++) count += m[s * n + i];
    const values = new Float32Array(count * d);
    let k = 0;
    for (let i = 0; i < n; i++)
      if (m[s * n + i] === 1) values.set(x.subarray((s * n + i) * d, (s * n + i + 1) * d), d * k++);
    return { values, n: count, d };
  });
}

/** Every tensor of a sample / reconstruction: the sets, the attention maps and each level's latents. */
export function disposeOutput(out: SetVAEOutput): void {
  tf.dispose([
    out.x,
    out.mask,
    ...out.attention.map((a) => a.attention),
    ...out.levels.flatMap((l) => [l.priorMu, l.priorLogvar, l.posteriorMu, l.posteriorLogvar, l.z, l.kl]),
  ]);
}

/** Samples with the reference cardinalities (as SetVAE's evaluation), in chunks. */
export function sampleLike(
  model: SetVAE,
  reference: HostSet[],
  { seed, temperature = 1, chunk = 50 }: { seed: number; temperature?: number; chunk?: number },
): HostSet[] {
  const result: HostSet[] = [];
  for (let start = 0; start < reference.length; start += chunk) {
    const sizes = reference.slice(start, start + chunk).map((s) => s.n);
    const out = model.sample(sizes, { seed: seed + start, temperature });
    result.push(...toHostSets(out));
    disposeOutput(out);
  }
  return result;
}

/**
 * Reconstructions of `sets` (posterior latents at every level, Eq. 20), in chunks: what the
 * decoder makes of a digit when the latents are right, the ceiling of prior samples.
 */
export function reconstructLike(
  model: SetVAE,
  sets: HostSet[],
  { seed, chunk = 50 }: { seed: number; chunk?: number },
): HostSet[] {
  const result: HostSet[] = [];
  for (let start = 0; start < sets.length; start += chunk) {
    const batch = toSetBatch(sets.slice(start, start + chunk));
    const out = model.reconstruct(batch, { seed: seed + start });
    result.push(...toHostSets(out));
    disposeOutput(out);
    tf.dispose([batch.x, batch.mask as tf.Tensor2D]);
  }
  return result;
}

/** The first `count` held-out sets, each subsampled to `EVAL_POINTS` points (seeded). */
export function evaluationReference(
  test: readonly HostSet[],
  count: number,
  points = EVAL_POINTS,
): HostSet[] {
  return test.slice(0, count).map((set, i) => resample(set, points, 7 + i));
}

/**
 * How the encoder's projections split a set, per level (top-down, coarse → fine): each point
 * goes to the inducing point that attends to it most (heads averaged); per set, the entropy of
 * these assignments over the m inducing points divided by log m (0 = one inducing point takes
 * every point, 1 = an even split), and the share of the largest part. Means over `sets`.
 */
export function attentionSplit(
  model: SetVAE,
  sets: HostSet[],
): { inducingPoints: number; entropy: number; largestShare: number }[] {
  const batch = toSetBatch(sets);
  const encoding = model.encode(batch);
  const sizes = sets.map((s) => s.n);
  const levels = encoding.attention.map((attention) => {
    const [b, , m, n] = attention.shape;
    const owner = tf.tidy(() => tf.argMax(tf.mean(attention, 1), 1).dataSync()); // [B, N]
    let entropy = 0;
    let largestShare = 0;
    for (let s = 0; s < b; s++) {
      const counts = new Array<number>(m).fill(0);
      for (let i = 0; i < sizes[s]; i++) counts[owner[s * n + i]]++;
      let h = 0;
      for (const c of counts) if (c > 0) h -= (c / sizes[s]) * Math.log(c / sizes[s]);
      entropy += (m > 1 ? h / Math.log(m) : 0) / b;
      largestShare += Math.max(...counts) / sizes[s] / b;
    }
    return { inducingPoints: m, entropy, largestShare };
  });
  tf.dispose([...encoding.features, ...encoding.attention, batch.x, batch.mask as tf.Tensor2D]);
  return levels;
}

export interface Evaluation {
  /** MMD / COV / 1-NNA (CD, and EMD when asked for). */
  metrics: Record<string, number>;
  /** The digit classifier's score of the samples (null without a classifier). */
  score: ClassifierScore | null;
  generated: HostSet[];
}

/** Samples as many sets as `reference` (at their sizes) and scores them. */
export async function evaluateSamples(
  model: SetVAE,
  reference: HostSet[],
  {
    temperature = 1,
    seed = 1000,
    distances = ['cd', 'emd'],
    classifier = null,
    twoDigits = false,
  }: {
    temperature?: number;
    seed?: number;
    distances?: ('cd' | 'emd')[];
    classifier?: DigitClassifier | null;
    /** Set-MultiMNIST canvases: score each half as a digit (digit-score.ts). */
    twoDigits?: boolean;
  },
): Promise<Evaluation> {
  const generated = sampleLike(model, reference, { seed, temperature });
  return scoreSets(generated, reference, { seed, distances, classifier, twoDigits });
}

/** MMD / COV / 1-NNA of `generated` against `reference` and their digit score (as `evaluateSamples`). */
export async function scoreSets(
  generated: HostSet[],
  reference: HostSet[],
  {
    seed,
    distances,
    classifier,
    twoDigits,
  }: {
    seed: number;
    distances: ('cd' | 'emd')[];
    classifier: DigitClassifier | null;
    twoDigits: boolean;
  },
): Promise<Evaluation> {
  let metrics: Record<string, number> = {};
  if (reference.length >= 2 && distances.length > 0) {
    // loaded on demand: runs without metrics do not start its worker threads
    const { computeAllMetrics } = await import('@setgen/metrics/node');
    metrics = { ...(await computeAllMetrics(generated, reference, { distances })) };
  }
  const score = classifier ? digitScore(classifier, generated, { seed, twoDigits }) : null;
  return { metrics, score, generated };
}

/** The digit score of an evaluation as the flat fields the curves and the sweep log (NaN without a classifier). */
export function scoreFields(score: ClassifierScore | null): {
  confident: number;
  rejected: number;
  classEntropy: number;
} {
  return {
    confident: score?.confident ?? Number.NaN,
    rejected: score?.rejected ?? Number.NaN,
    classEntropy: score?.histogramEntropy ?? Number.NaN,
  };
}

/** `MMD-CD 1.234 ×10⁻³` style cells. */
export function formatMetric(name: string, value: number): string {
  if (name.startsWith('MMD-CD')) return `${(value * 1e3).toFixed(3)} ×10⁻³`;
  if (name.startsWith('MMD-EMD')) return `${(value * 1e2).toFixed(3)} ×10⁻²`;
  return `${(value * 100).toFixed(2)} %`;
}
