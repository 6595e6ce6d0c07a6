import { DataError, Random } from '@setgen/ops';
import { checkChoice, checkInteger, checkOptions, is } from '@setgen/ops/internal';
import type { SetDataset } from './dataset.js';
import { type MnistImages, mnistPackageDigits } from './mnist-images.js';
import {
  mnistSplitIndices,
  PIXEL_OPTIONS,
  type PixelsToSetOptions,
  pixelsToSet,
  resolvePixelOptions,
  type Split,
} from './set-mnist.js';

/** Options of `setMultiMnist` (`split` is required). */
export interface SetMultiMnistOptions extends PixelsToSetOptions {
  /** Digits come from this split of the images (same fixed split as `setMnist`). */
  split: Split;
  /** Seed of digit choice, placement, jitter and point order. Default 123 (SetVAE's generator seed). */
  seed?: number;
  /** Number of canvases. Default 6000 for 'train', 1000 for 'test', 7000 for 'all' (SetVAE's 6:1). */
  numSets?: number;
  /** Keep only the first `limit` canvases (same canvases as without it). Default: all `numSets`. */
  limit?: number;
  /** Canvas side in pixels. Default 64. */
  canvasSize?: number;
  /**
   * Where digits go. `'slots'` (default, SetVAE's MultiMNIST.py): the first digit in the left
   * half, the second in the right half, each at a random row and a random column within its
   * half. `'anywhere'`: random positions on the whole canvas, rejected until the boxes of their
   * kept pixels are disjoint.
   */
  placement?: 'slots' | 'anywhere';
  /** Images to draw digits from, as `SetMnistOptions.images` (default: the optional `mnist` package's digits). */
  images?: MnistImages;
}

export interface SetMultiMnistDataset extends SetDataset {
  /** Class of the canvas, `10·first + second` (100 classes as in SetVAE). */
  labels: Int32Array;
  /** Both digit labels per canvas, `[numSets·2]`. */
  digitLabels: Int32Array;
  /**
   * Per digit `[xmin, ymin, xmax, ymax]` in the same coordinates as the points (`[numSets·2·4]`):
   * the box of the digit's kept pixels, which contains every point of that digit.
   */
  boxes: Float32Array;
  /** Source image of each digit, `[numSets·2]`. */
  imageIndices: Int32Array;
  maxSize: number;
}

/** Bounding box (inclusive pixel indices) of the pixels above `cut`: [row0, col0, row1, col1]. */
function inkBox(pixels: Uint8Array, offset: number, rows: number, cols: number, cut: number): number[] {
  let [r0, c0, r1, c1] = [rows, cols, -1, -1];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (pixels[offset + r * cols + c] > cut) {
        r0 = Math.min(r0, r);
        r1 = Math.max(r1, r);
        c0 = Math.min(c0, c);
        c1 = Math.max(c1, c);
      }
    }
  }
  return [r0, c0, r1, c1];
}

/**
 * Set-MultiMNIST (SetVAE §6.1): two digits of the split pasted on a 64×64 canvas without
 * overlap (see `placement`), then converted to a point set like `setMnist` (points scaled by the
 * canvas side). Classes `10·first + second` are balanced as in SetVAE: canvas k has class k mod 100,
 * each digit a random image of its class. Labels, digit labels and boxes are kept for evaluation.
 */
export function setMultiMnist(options: SetMultiMnistOptions): SetMultiMnistDataset {
  checkOptions(
    options,
    {
      ...PIXEL_OPTIONS,
      split: is.any,
      seed: is.seed,
      numSets: is.any,
      limit: is.any,
      canvasSize: is.any,
      placement: is.any,
      images: is.any,
    },
    'options',
  );
  const split = checkChoice(options?.split, 'split', ['train', 'test', 'all'] as const);
  const pixelOptions = resolvePixelOptions(options);
  const seed = checkInteger(options.seed ?? 123, 'seed', Number.MIN_SAFE_INTEGER);
  const numSets = checkInteger(
    options.numSets ?? { train: 6000, test: 1000, all: 7000 }[split],
    'numSets',
    0,
  );
  const count =
    options.limit === undefined ? numSets : Math.min(numSets, checkInteger(options.limit, 'limit', 0));
  const images = options.images ?? mnistPackageDigits();
  const { rows, cols } = images;
  const side = checkInteger(options.canvasSize ?? 64, 'canvasSize', 2 * Math.max(rows, cols));
  const placement = checkChoice(options.placement ?? 'slots', 'placement', ['slots', 'anywhere'] as const);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (const i of mnistSplitIndices(images.count, split)) byClass[images.labels[i]]?.push(i);
  const missing = byClass.findIndex((list) => list.length === 0);
  if (missing >= 0 && count > 0) {
    throw new DataError(
      `images: the '${split}' split has no image of digit ${missing}, needed for balanced classes`,
    );
  }
  const random = new Random(seed);
  const cut = pixelOptions.threshold * 255;
  const scale = pixelOptions.convention === 'setvae' ? side : side - 1;
  const extent = pixelOptions.jitter ? 1 : 0;
  const canvas = new Uint8Array(side * side);
  const result: SetMultiMnistDataset = {
    sets: [],
    labels: new Int32Array(count),
    digitLabels: new Int32Array(2 * count),
    boxes: new Float32Array(8 * count),
    imageIndices: new Int32Array(2 * count),
    maxSize: 0,
  };
  for (let k = 0; k < count; k++) {
    const digits = [Math.floor((k % 100) / 10), k % 10];
    const chosen = digits.map((d) => byClass[d][random.int(byClass[d].length)]);
    const ink = chosen.map((i) => inkBox(images.pixels, i * rows * cols, rows, cols, cut));
    const boxesAt = (offsets: number[][]) =>
      ink.map(([r0, c0, r1, c1], j) => [
        r0 + offsets[j][0],
        c0 + offsets[j][1],
        r1 + offsets[j][0],
        c1 + offsets[j][1],
      ]);
    let offsets: number[][];
    if (placement === 'slots') {
      // SetVAE: row ~ U{0..side−rows−1}, column j·(side/2) + U{0..side/2−cols−1}
      const half = Math.floor(side / 2);
      offsets = [0, 1].map((j) => [random.int(side - rows), j * half + random.int(half - cols)]);
    } else {
      // Rejection-sample the offsets until the ink boxes are disjoint (always possible: 2·28 < 64).
      const overlap = ([a, b]: number[][]) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
      do {
        offsets = [0, 1].map(() => [random.int(side - rows + 1), random.int(side - cols + 1)]);
      } while (overlap(boxesAt(offsets)));
    }
    const boxes = boxesAt(offsets);
    canvas.fill(0);
    chosen.forEach((image, j) => {
      const [dr, dc] = offsets[j];
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const v = images.pixels[image * rows * cols + r * cols + c];
          const at = (r + dr) * side + c + dc;
          canvas[at] = Math.max(canvas[at], v);
        }
      }
      const [r0, c0, r1, c1] = boxes[j];
      const box =
        pixelOptions.layout === 'xy'
          ? [c0, side - 1 - r1, c1 + extent, side - 1 - r0 + extent]
          : [r0, c0, r1 + extent, c1 + extent];
      result.boxes.set(
        box.map((v) => v / scale),
        8 * k + 4 * j,
      );
      result.digitLabels[2 * k + j] = images.labels[image];
      result.imageIndices[2 * k + j] = image;
    });
    result.labels[k] = 10 * result.digitLabels[2 * k] + result.digitLabels[2 * k + 1];
    const set = pixelsToSet(canvas, 0, side, side, pixelOptions, random);
    result.sets.push(set);
    result.maxSize = Math.max(result.maxSize, set.n);
  }
  return result;
}
