import { DataError, type HostSet, Random } from '@setgen/ops';
import { checkChoice, checkInteger, checkNumber, checkOptions, is } from '@setgen/ops/internal';
import type { SetDataset } from './dataset.js';
import { type MnistImages, mnistPackageDigits } from './mnist-images.js';

/**
 * How pixels become points.
 * - `'setvae'` (default): `(index + U[0,1)) / size` → [0, 1) (SetVAE datasets/SetMNIST.py).
 * - `'dspn'`: `index / (size − 1)` → [0, 1], no jitter (DSPN/FSPool MNISTSet, /27).
 */
export type PixelConvention = 'setvae' | 'dspn';

/**
 * Coordinate order. `'xy'` (default): `(column, size − 1 − row)` so digits plot upright with y
 * up; `'row-col'`: `(row, column)` as the references' `nonzero()` (transposed digits when plotted as x, y).
 */
export type PixelLayout = 'xy' | 'row-col';

/** How the pixels of a digit become a point set (Set-MNIST and Set-MultiMNIST). */
export interface PixelsToSetOptions {
  /** Keep pixels with intensity/255 > threshold. Default 0.1307 (the MNIST mean, = "normalised > 0"). */
  threshold?: number;
  convention?: PixelConvention;
  /** Add U[0,1) pixel jitter. Default: true for 'setvae', false for 'dspn'. */
  jitter?: boolean;
  layout?: PixelLayout;
  /** Shuffle the point order within each set (the references do). Default true. */
  shufflePoints?: boolean;
}

export interface ResolvedPixelOptions {
  threshold: number;
  convention: PixelConvention;
  jitter: boolean;
  layout: PixelLayout;
  shufflePoints: boolean;
}

/** The pixel options, for `checkOptions` specs of the MNIST generators. */
export const PIXEL_OPTIONS = {
  threshold: is.any,
  convention: is.any,
  jitter: is.boolean,
  layout: is.any,
  shufflePoints: is.boolean,
};

export function resolvePixelOptions(options: PixelsToSetOptions): ResolvedPixelOptions {
  const convention = checkChoice(options.convention ?? 'setvae', 'convention', ['setvae', 'dspn'] as const);
  return {
    threshold: checkNumber(options.threshold ?? 0.1307, 'threshold', { min: 0, max: 1 }),
    convention,
    jitter: options.jitter ?? convention === 'setvae',
    layout: checkChoice(options.layout ?? 'xy', 'layout', ['xy', 'row-col'] as const),
    shufflePoints: options.shufflePoints ?? true,
  };
}

/**
 * One grey image (`pixels[offset .. offset + rows·cols)`, 0..255) → a 2-D point set in [0, 1]².
 * `size` is the side used for scaling (the canvas side).
 */
export function pixelsToSet(
  pixels: Uint8Array,
  offset: number,
  rows: number,
  cols: number,
  options: ResolvedPixelOptions,
  random: Random,
): HostSet {
  const size = Math.max(rows, cols);
  const scale = options.convention === 'setvae' ? size : size - 1;
  const cut = options.threshold * 255;
  const points: number[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      if (pixels[offset + row * cols + col] <= cut) continue;
      const a = options.layout === 'xy' ? col : row;
      const b = options.layout === 'xy' ? size - 1 - row : col;
      const ja = options.jitter ? random.next() : 0;
      const jb = options.jitter ? random.next() : 0;
      points.push((a + ja) / scale, (b + jb) / scale);
    }
  }
  const n = points.length / 2;
  const order = Array.from({ length: n }, (_, i) => i);
  if (options.shufflePoints) random.shuffle(order);
  const values = new Float32Array(2 * n);
  order.forEach((from, to) => {
    values[2 * to] = points[2 * from];
    values[2 * to + 1] = points[2 * from + 1];
  });
  return { values, n, d: 2 };
}

/** A fixed split of an image collection: 'train' (80 %), 'test' (20 %) or 'all' (see `mnistSplitIndices`). */
export type Split = 'train' | 'test' | 'all';

/** Seed of the fixed train/test split of an image collection (independent of `seed`). */
export const MNIST_SPLIT_SEED = 1234;
/** Fraction of the images in the test split. */
export const MNIST_TEST_FRACTION = 0.2;

/**
 * Image indices of a split. 'all': every image in file order. 'train'/'test': a fixed
 * permutation (`MNIST_SPLIT_SEED`, independent of `seed`) whose first 80% is 'train' and last
 * 20% 'test', kept in that shuffled order so any prefix (`limit`) mixes the classes.
 */
export function mnistSplitIndices(count: number, split: Split): Int32Array {
  if (split === 'all') return Int32Array.from({ length: count }, (_, i) => i);
  const order = new Random(MNIST_SPLIT_SEED).shuffle(Array.from({ length: count }, (_, i) => i));
  const numTest = Math.round(count * MNIST_TEST_FRACTION);
  return Int32Array.from(split === 'test' ? order.slice(count - numTest) : order.slice(0, count - numTest));
}

/** Options of `setMnist` (`split` is required). */
export interface SetMnistOptions extends PixelsToSetOptions {
  /** 'train' (80%), 'test' (20%) or 'all' of the images; fixed split (see `mnistSplitIndices`). */
  split: Split;
  /** Seed of the jitter and point order. Default 0. */
  seed?: number;
  /** Keep only the first `limit` digits of the split. Default: all. */
  limit?: number;
  /**
   * Images to convert: `loadMnistIdx(dir)` (`@setgen/data/node`), `mnistImagesFromIdx(bytes…)` or
   * your own arrays. Default: the 10,000 digits of the optional `mnist` package when it is
   * installed (Node ≥ 20.16, see `mnistPackageDigits`); otherwise a `ConfigError` says how to get digits.
   */
  images?: MnistImages;
}

export interface SetMnistDataset extends SetDataset {
  labels: Int32Array;
  /** Index of each set's image in `images`. */
  imageIndices: Int32Array;
  /** Largest set size. */
  maxSize: number;
}

/**
 * Set-MNIST: each digit's pixels brighter than `threshold` become 2-D points in [0, 1]²
 * (SetVAE §6.1 / DSPN §5.1; conventions in `PixelsToSetOptions`). Deterministic for a seed.
 */
export function setMnist(options: SetMnistOptions): SetMnistDataset {
  checkOptions(
    options,
    { ...PIXEL_OPTIONS, split: is.any, seed: is.seed, limit: is.any, images: is.any },
    'options',
  );
  const split = checkChoice(options?.split, 'split', ['train', 'test', 'all'] as const);
  const pixelOptions = resolvePixelOptions(options);
  const seed = checkInteger(options.seed ?? 0, 'seed', Number.MIN_SAFE_INTEGER);
  const limit = options.limit === undefined ? undefined : checkInteger(options.limit, 'limit', 0);
  const images = options.images ?? mnistPackageDigits();
  if (images.pixels.length !== images.count * images.rows * images.cols) {
    throw new DataError(
      `images: expected pixels of length count·rows·cols = ${images.count * images.rows * images.cols}, got ${images.pixels.length}`,
    );
  }
  const indices = mnistSplitIndices(images.count, split).slice(0, limit);
  const random = new Random(seed);
  const size = images.rows * images.cols;
  const sets = Array.from(indices, (i) =>
    pixelsToSet(images.pixels, i * size, images.rows, images.cols, pixelOptions, random),
  );
  return {
    sets,
    labels: Int32Array.from(indices, (i) => images.labels[i]),
    imageIndices: indices,
    maxSize: sets.reduce((m, s) => Math.max(m, s.n), 0),
  };
}
