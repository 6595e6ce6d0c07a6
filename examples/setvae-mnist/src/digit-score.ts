// The classifier-based sample score of the example: the digit classifier's predictions fed to
// @setgen/metrics' classifierScore. Set-MNIST: 11 classes (10 digits, "not a digit").
// Set-MultiMNIST (`twoDigits`): each canvas split into its two halves (`splitCanvas`), the 100
// ordered digit pairs p(a, b) = p_left(a)·p_right(b), plus "not two digits" (1 − Σ p(a, b)).
import { type ClassifierScore, classifierScore } from '@setgen/metrics';
import type { HostSet } from '@setgen/ops';
import { type DigitClassifier, NUM_CLASSES, splitCanvas } from './digit-classifier.js';

export function digitScore(
  classifier: DigitClassifier,
  sets: readonly HostSet[],
  { seed = 0, twoDigits = false }: { seed?: number; twoDigits?: boolean } = {},
): ClassifierScore {
  const p = classifier.predict(twoDigits ? sets.flatMap((set) => splitCanvas(set)) : sets, { seed });
  if (!twoDigits) return classifierScore(p, NUM_CLASSES, { rejectClass: NUM_CLASSES - 1 });
  const joint = new Float64Array(sets.length * 101);
  for (let i = 0; i < sets.length; i++) {
    const left = p.subarray(2 * i * NUM_CLASSES, (2 * i + 1) * NUM_CLASSES);
    const right = p.subarray((2 * i + 1) * NUM_CLASSES, (2 * i + 2) * NUM_CLASSES);
    let sum = 0;
    for (let a = 0; a < 10; a++) {
      for (let b = 0; b < 10; b++) {
        const q = left[a] * right[b];
        joint[i * 101 + 10 * a + b] = q;
        sum += q;
      }
    }
    joint[i * 101 + 100] = Math.max(0, 1 - sum);
  }
  return classifierScore(joint, 101, { rejectClass: 100 });
}

/** `confident 93.8 %, class entropy 2.21 / 2.30 nats` */
export function formatScore(s: ClassifierScore): string {
  return `confident ${(100 * s.confident).toFixed(1)} %, not-a-digit ${(100 * s.rejected).toFixed(1)} %, class entropy ${s.histogramEntropy.toFixed(2)} / ${s.maxEntropy.toFixed(2)} nats, IS ${s.inceptionScore.toFixed(2)}`;
}
