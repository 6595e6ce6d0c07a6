// Node-only (exported from '@setgen/data/node'): reads PointFlow's ShapeNet .npy layout.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, DataError, type HostSet, type NpyArray, Random, readNpy } from '@setgen/ops';
import { checkChoice, checkOptions, is } from '@setgen/ops/internal';
import { readWholeFile } from './read-file.js';

/** Split of a PointFlow/ShapeNet folder: `<root>/<synset>/<split>/*.npy`. */
export type PointCloudSplit = 'train' | 'val' | 'test';

/** ShapeNet synset ids of the 13 common categories (PointFlow's `synsetid_to_cate`), for `synsets` by name. */
export const SHAPENET_SYNSETS: Readonly<Record<string, string>> = {
  airplane: '02691156',
  bench: '02828884',
  cabinet: '02933112',
  car: '02958343',
  chair: '03001627',
  display: '03211117',
  lamp: '03636649',
  loudspeaker: '03691459',
  rifle: '04090263',
  sofa: '04256520',
  table: '04379243',
  telephone: '04401088',
  watercraft: '04530566',
};

/**
 * - `'global'` (PointFlow's default): subtract the per-axis mean of all points of all training
 *   clouds of the selected synsets, divide by the std of all their coordinates flattened (a
 *   scalar, numpy `reshape(-1).std()`). val/test use the train statistics.
 * - `'per-shape'`: the same statistics computed per cloud (PointFlow's `normalize_per_shape`).
 * - `'none'`: raw coordinates.
 */
export type PointCloudNormalization = 'per-shape' | 'global' | 'none';

/** Options of `loadPointClouds` (`split` is required). */
export interface LoadPointCloudsOptions {
  /** Synset folders to read, by id ('02691156') or category name ('airplane', see `SHAPENET_SYNSETS`). Default: every folder of the root. */
  synsets?: readonly string[];
  split: PointCloudSplit;
  /** Points per cloud. Default 2048 (PointFlow's tr/te sample size). */
  numPoints?: number;
  normalize?: PointCloudNormalization;
  /** Seed of the point sampling (train split) and of the cloud order when `shuffle`. Default 0. */
  seed?: number;
  /** Shuffle the order of the clouds. Default false (sorted by synset, then file name). */
  shuffle?: boolean;
  /** Statistics to use for 'global' (e.g. saved from training) instead of a pass over the train files. */
  stats?: PointCloudStats;
  /**
   * A file holding NaN or ±Infinity: `'throw'` (default) stops with a `DataError` naming the
   * file and the position; `'skip'` leaves it out (of the clouds and of the 'global'
   * statistics) and lists it in `source.skipped`.
   */
  invalidFiles?: 'throw' | 'skip';
}

/** 'global' normalisation statistics: per-axis `mean` and the `std` of all coordinates flattened (PointFlow). */
export interface PointCloudStats {
  mean: [number, number, number];
  std: number;
}

/** One cloud: `numPoints × 3`, normalised; the original is `values · scale + mean`. */
export interface PointCloud extends HostSet {
  synset: string;
  path: string;
  mean: [number, number, number];
  scale: number;
}

/** The clouds of a split: file list and statistics are ready; clouds are read one at a time while iterating. */
export interface PointCloudSource extends AsyncIterable<PointCloud> {
  files: { synset: string; path: string }[];
  stats?: PointCloudStats;
  /** Files left out for NaN/Infinity with `invalidFiles: 'skip'` (filled as they are met). */
  skipped: string[];
}

/** What `loadPointClouds` returns: iterate it directly, or await it for the prepared `PointCloudSource`. */
export interface PointCloudStream extends AsyncIterable<PointCloud>, PromiseLike<PointCloudSource> {}

async function listFiles(root: string, synsets: readonly string[] | undefined, split: PointCloudSplit) {
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat?.isDirectory())
    throw new DataError(`${root}: expected a directory <root>/<synset>/<split>/*.npy, not found`);
  const chosen =
    synsets?.map((name) => SHAPENET_SYNSETS[name] ?? name) ??
    (await readdir(root, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  const files: { synset: string; path: string }[] = [];
  for (const synset of chosen) {
    const dir = join(root, synset, split);
    const names = await readdir(dir).catch(() => {
      throw new DataError(`${dir}: expected a folder of .npy clouds for synset ${synset}, not found`);
    });
    for (const name of names.filter((n) => n.endsWith('.npy')).sort())
      files.push({ synset, path: join(dir, name) });
  }
  if (files.length === 0) {
    throw new DataError(
      `${root}: empty directory, no <synset>/${split}/*.npy files${synsets ? ` for synsets ${synsets.join(', ')}` : ''}`,
    );
  }
  return files;
}

/**
 * A cloud file, or null when it holds a non-finite value and `skip` (added to `skipped`);
 * without `skip` that is a `DataError` naming the file, the point and the coordinate (one NaN
 * would otherwise turn PointFlow's global statistics, and so every cloud, into NaN).
 */
async function readCloud(path: string, skip = false, skipped: string[] = []): Promise<NpyArray | null> {
  const array = readNpy(await readWholeFile(path), path);
  if (
    array.shape.length !== 2 ||
    array.shape[1] !== 3 ||
    array.shape[0] === 0 ||
    !(array.data instanceof Float32Array || array.data instanceof Float64Array)
  ) {
    throw new DataError(
      `${path}: expected float points of shape [N,3], got ${array.dtype} [${array.shape.join(',')}]`,
    );
  }
  const { data } = array;
  for (let k = 0; k < data.length; k++) {
    if (Number.isFinite(data[k])) continue;
    if (skip) {
      if (!skipped.includes(path)) skipped.push(path);
      return null;
    }
    throw new DataError(
      `${path}: expected finite coordinates, got ${data[k]} at point ${Math.floor(k / 3)}, coordinate ${k % 3} ` +
        `(pass invalidFiles: 'skip' to leave such files out)`,
    );
  }
  return array;
}

/** PointFlow keeps the first 10,000 points of each cloud for training and the rest for testing. */
function pointRange(count: number, split: PointCloudSplit): [number, number] {
  if (count <= 10000) return [0, count];
  return split === 'train' ? [0, 10000] : [10000, count];
}

/**
 * PointFlow's statistics from Float64 sums over `count` points: the mean per axis, and the std
 * of all coordinates flattened (numpy `points.reshape(-1).std()`, i.e. around their overall mean).
 */
function statistics(sums: number[], squares: number, count: number): PointCloudStats {
  const mean = sums.map((s) => s / count) as [number, number, number];
  const overall = (sums[0] + sums[1] + sums[2]) / (3 * count);
  const variance = squares / (3 * count) - overall ** 2;
  return { mean, std: Math.sqrt(Math.max(variance, 0)) || 1 };
}

function accumulate(data: ArrayLike<number>, from: number, to: number, sums: number[]): number {
  let squares = 0;
  for (let i = from; i < to; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[3 * i + c];
      sums[c] += v;
      squares += v * v;
    }
  }
  return squares;
}

async function prepareSource(root: string, options: LoadPointCloudsOptions): Promise<PointCloudSource> {
  const checked = checkOptions(
    options,
    {
      synsets: is.any,
      split: is.oneOf(['train', 'val', 'test'] as const),
      numPoints: is.integer(1),
      normalize: is.oneOf(['per-shape', 'global', 'none'] as const),
      seed: is.seed,
      shuffle: is.boolean,
      stats: is.any,
      invalidFiles: is.oneOf(['throw', 'skip'] as const),
    },
    'options',
  );
  const split = checkChoice(checked.split, 'options.split', ['train', 'val', 'test'] as const);
  const { numPoints = 2048, normalize = 'global', seed = 0 } = checked;
  const skip = checked.invalidFiles === 'skip';
  const skipped: string[] = [];
  if (options.synsets !== undefined && (!Array.isArray(options.synsets) || options.synsets.length === 0)) {
    throw new ConfigError(
      `synsets: expected a non-empty array of folder names, got ${JSON.stringify(options.synsets)}`,
    );
  }
  const files = await listFiles(root, options.synsets, split);
  let stats = options.stats;
  if (normalize === 'global' && !stats) {
    const trainFiles = split === 'train' ? files : await listFiles(root, options.synsets, 'train');
    const sums = [0, 0, 0];
    let squares = 0;
    let count = 0;
    // PointFlow: over all points of every training cloud (before its train/test point split)
    for (const { path } of trainFiles) {
      const cloud = await readCloud(path, skip, skipped);
      if (!cloud) continue;
      squares += accumulate(cloud.data, 0, cloud.shape[0], sums);
      count += cloud.shape[0];
    }
    if (count === 0) {
      throw new DataError(`${root}: every training file holds NaN/Infinity (skipped: ${skipped.join(', ')})`);
    }
    stats = statistics(sums, squares, count);
  }
  const order = files.map((_, i) => i);
  if (options.shuffle) new Random(seed).shuffle(order);
  const globalStats = stats;
  async function* clouds(): AsyncGenerator<PointCloud> {
    const random = new Random(seed);
    for (const k of order) {
      const { synset, path } = files[k];
      const cloud = await readCloud(path, skip, skipped);
      if (!cloud) continue;
      const [from, to] = pointRange(cloud.shape[0], split);
      if (split !== 'train' && to - from < numPoints) {
        throw new DataError(`${path}: has ${to - from} held-out points, fewer than numPoints=${numPoints}`);
      }
      let { mean, std } = globalStats ?? { mean: [0, 0, 0] as [number, number, number], std: 1 };
      if (normalize === 'per-shape') {
        const sums = [0, 0, 0];
        const squares = accumulate(cloud.data, 0, cloud.shape[0], sums);
        ({ mean, std } = statistics(sums, squares, cloud.shape[0]));
      }
      const values = new Float32Array(3 * numPoints);
      for (let i = 0; i < numPoints; i++) {
        const source = split === 'train' ? from + random.int(to - from) : from + i;
        for (let c = 0; c < 3; c++) values[3 * i + c] = (cloud.data[3 * source + c] - mean[c]) / std;
      }
      yield { values, n: numPoints, d: 3, synset, path, mean, scale: std };
    }
  }
  return { files: order.map((k) => files[k]), stats, skipped, [Symbol.asyncIterator]: clouds };
}

/**
 * ShapeNet point clouds in PointFlow's layout (`<root>/<synset>/<split>/*.npy`, 15k×3 each).
 * Lists the files (throws `DataError` for a missing/empty directory) and, for 'global', computes the
 * training statistics in one streaming pass; then yields clouds one file at a time, each
 * `numPoints` points: sampled with replacement (seeded, as PointFlow) from the first 10k points
 * for 'train', the first `numPoints` of the held-out points for 'val'/'test'.
 *
 * Both `for await (const cloud of loadPointClouds(dir, opts))` and
 * `const source = await loadPointClouds(dir, opts)` (then `source.files`, `source.stats`, iterate)
 * work; the listing and statistics are done once, on first use, and errors (bad options → `ConfigError`,
 * missing/empty directory or bad file → `DataError`) reject that first use.
 */
export function loadPointClouds(root: string, options: LoadPointCloudsOptions): PointCloudStream {
  let prepared: Promise<PointCloudSource> | undefined;
  const prepare = () => {
    prepared ??= prepareSource(root, options);
    return prepared;
  };
  return {
    // biome-ignore lint/suspicious/noThenProperty: awaiting the stream yields the prepared source, by design
    then: (onFulfilled, onRejected) => prepare().then(onFulfilled, onRejected),
    async *[Symbol.asyncIterator]() {
      yield* await prepare();
    },
  };
}
