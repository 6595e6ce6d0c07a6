// Set-MNIST for this study: DSPN's pixel convention (pixels brighter than the MNIST mean,
// (row, col)/(size − 1) ∈ [0, 1], no jitter), at 28×28 (the paper) or 2×2-averaged 14×14
// (the default here: ≈ 41 points per digit instead of ≈ 133, so a study fits this machine).
import { createRequire } from 'node:module';
import { type MnistImages, mnistPackageDigits, type SetMnistDataset, setMnist } from '@setgen/data';
import { ConfigError } from '@setgen/ops';

/** The bundled digits averaged over 2×2 blocks (28×28 → 14×14). */
export function halfResolution(images: MnistImages): MnistImages {
  const { rows, cols, count } = images;
  const [r2, c2] = [rows / 2, cols / 2];
  const pixels = new Uint8Array(count * r2 * c2);
  for (let k = 0; k < count; k++) {
    for (let r = 0; r < r2; r++) {
      for (let c = 0; c < c2; c++) {
        const at = (dr: number, dc: number) =>
          images.pixels[k * rows * cols + (2 * r + dr) * cols + 2 * c + dc];
        pixels[k * r2 * c2 + r * c2 + c] = Math.round((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4);
      }
    }
  }
  return { pixels, labels: images.labels, count, rows: r2, cols: c2 };
}

export interface StudyData {
  train: SetMnistDataset;
  test: SetMnistDataset;
  /** Largest set over both splits (DSPN's N). */
  maxSize: number;
}

/** `trainSize` training and `testSize` held-out digits of the fixed split. */
export function studyData(resolution: 14 | 28, trainSize: number, testSize: number): StudyData {
  if (resolution !== 14 && resolution !== 28) {
    throw new ConfigError(`resolution: expected 14 or 28, got ${JSON.stringify(resolution)}`);
  }
  const digits = mnistPackageDigits([createRequire(import.meta.url).resolve]);
  const images = resolution === 28 ? digits : halfResolution(digits);
  const common = { images, convention: 'dspn' as const, layout: 'xy' as const, seed: 0 };
  const train = setMnist({ ...common, split: 'train', limit: trainSize });
  const test = setMnist({ ...common, split: 'test', limit: testSize });
  return { train, test, maxSize: Math.max(train.maxSize, test.maxSize) };
}
