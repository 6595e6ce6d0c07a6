import { Random } from '@setgen/ops';
import { checkChoice, checkInteger } from './checks.js';
import type { SetDataset } from './dataset.js';
import { bundledMnistDigits, type MnistImages } from './mnist-images.js';
import {
  mnistSplitIndices,
  type PixelsToSetOptions,
  pixelsToSet,
  resolvePixelOptions,
  type Split,
} from './set-mnist.js';

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
  /** Images to draw digits from. Default: the `mnist` package digits (Node only). */
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
 * Set-MultiMNIST (SetVAE §6.1): two digits pasted at random positions on a 64×64 canvas so
 * that the boxes of their kept pixels do not overlap, then converted to a point set like
 * `setMnist` (points scaled by the canvas side). Labels, digit labels and boxes are kept for evaluation.
 */
export function setMultiMnist(options: SetMultiMnistOptions): SetMultiMnistDataset {
  const split = checkChoice(options?.split, 'split', ['train', 'test', 'all'] as const);
  const pixelOptions = resolvePixelOptions(options);
  const seed = checkInteger(options.seed ?? 123, 'seed', 0);
  const numSets = checkInteger(
    options.numSets ?? { train: 6000, test: 1000, all: 7000 }[split],
    'numSets',
    0,
  );
  const count =
    options.limit === undefined ? numSets : Math.min(numSets, checkInteger(options.limit, 'limit', 0));
  const images = options.images ?? bundledMnistDigits();
  const { rows, cols } = images;
  const side = checkInteger(options.canvasSize ?? 64, 'canvasSize', 2 * Math.max(rows, cols));
  const pool = mnistSplitIndices(images.count, split);
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
    const chosen = [pool[random.int(pool.length)], pool[random.int(pool.length)]];
    const ink = chosen.map((i) => inkBox(images.pixels, i * rows * cols, rows, cols, cut));
    // Rejection-sample the two offsets until the ink boxes are disjoint (always possible: 2·28 < 64).
    let offsets: number[][];
    let boxes: number[][];
    do {
      offsets = chosen.map(() => [random.int(side - rows + 1), random.int(side - cols + 1)]);
      boxes = ink.map(([r0, c0, r1, c1], j) => [
        r0 + offsets[j][0],
        c0 + offsets[j][1],
        r1 + offsets[j][0],
        c1 + offsets[j][1],
      ]);
    } while (
      boxes[0][0] <= boxes[1][2] &&
      boxes[1][0] <= boxes[0][2] &&
      boxes[0][1] <= boxes[1][3] &&
      boxes[1][1] <= boxes[0][3]
    );
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
