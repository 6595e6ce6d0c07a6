import { ConfigError, type HostSet, Random, type SetBatch, ShapeError, toSetBatch } from '@setgen/ops';
import { checkHostSet, checkInteger, checkOptions, is } from '@setgen/ops/internal';
import { dispose } from '@tensorflow/tfjs-core';
import { setsOf } from './checks.js';
import type { SetDataset } from './dataset.js';

/** One batch: the padded tensors plus which dataset entries they hold. */
export interface DatasetBatch extends SetBatch {
  /** Dataset indices of the rows of `x` (stream position for streamed datasets). */
  indices: number[];
  /** Set sizes per row. */
  sizes: number[];
  /** `labels[indices[b]]` when the dataset has labels. */
  labels?: Int32Array;
}

/** Options of `batches` (`batchSize` is required). */
export interface BatchOptions {
  /** Sets per batch. Required. */
  batchSize: number;
  /** Shuffle the order every epoch (each call of `batches`). Default false. */
  shuffle?: boolean;
  /** Seed of the shuffle. Default 0. The same seed gives the same batches. */
  seed?: number;
  /**
   * Only put sets of equal size in one batch (no padding), as the Top-n reference loader
   * does. Batch order is shuffled across sizes when `shuffle`. Default false.
   */
  bucketBySize?: boolean;
  /** Drop a final (or per-bucket) batch smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /** Padded size of every batch. Default: the largest set of each batch. */
  maxSize?: number;
  /** Batches built ahead of the consumer (0 = build on demand). Default 1. */
  prefetch?: number;
}

type Source = SetDataset | readonly HostSet[] | Iterable<HostSet> | AsyncIterable<HostSet>;

function isInMemory(source: Source): source is SetDataset | readonly HostSet[] {
  return Array.isArray(source) || (typeof source === 'object' && source !== null && 'sets' in source);
}

const BATCH_OPTIONS = {
  batchSize: is.integer(1),
  shuffle: is.boolean,
  seed: is.seed,
  bucketBySize: is.boolean,
  dropLast: is.boolean,
  maxSize: is.integer(0),
  prefetch: is.integer(0, 64),
};

/** The batching options with defaults; unknown keys and wrong types are `ConfigError`s. */
function resolveBatchOptions(options: BatchOptions) {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('options: expected { batchSize, ... }');
  const checked = checkOptions(options, BATCH_OPTIONS, 'options');
  return {
    batchSize: checkInteger(checked.batchSize, 'batchSize', 1),
    shuffle: checked.shuffle ?? false,
    seed: checked.seed ?? 0,
    bucketBySize: checked.bucketBySize ?? false,
    dropLast: checked.dropLast ?? false,
    maxSize: checked.maxSize,
    prefetch: checked.prefetch ?? 1,
  };
}

/** The index groups of one epoch over an in-memory dataset. */
export function batchIndices(sizes: readonly number[], options: BatchOptions): number[][] {
  const { batchSize, shuffle, seed, bucketBySize, dropLast } = resolveBatchOptions(options);
  const random = new Random(seed);
  const order = sizes.map((_, i) => i);
  if (shuffle) random.shuffle(order);
  const groups = bucketBySize ? bucketsOf(order, sizes) : [order];
  const result: number[][] = [];
  for (const group of groups) {
    for (let start = 0; start < group.length; start += batchSize) {
      const chunk = group.slice(start, start + batchSize);
      if (chunk.length === batchSize || !dropLast) result.push(chunk);
    }
  }
  // Buckets are emitted size by size; shuffling mixes sizes across the epoch.
  if (shuffle && bucketBySize) random.shuffle(result);
  return result;
}

function bucketsOf(order: number[], sizes: readonly number[]): number[][] {
  const buckets = new Map<number, number[]>();
  for (const i of order) {
    const bucket = buckets.get(sizes[i]) ?? [];
    bucket.push(i);
    buckets.set(sizes[i], bucket);
  }
  return [...buckets.keys()].sort((a, b) => a - b).map((n) => buckets.get(n) as number[]);
}

function makeBatch(
  sets: readonly HostSet[],
  indices: number[],
  maxSize: number | undefined,
  labels?: Int32Array,
): DatasetBatch {
  const rows = indices.map((i) => sets[i]);
  const batch: DatasetBatch = { ...toSetBatch(rows, { maxSize }), indices, sizes: rows.map((s) => s.n) };
  if (labels) batch.labels = Int32Array.from(indices, (i) => labels[i]);
  return batch;
}

/**
 * Batches of a dataset as an async iterable of `{ x [B,N,D], mask [B,N], indices, sizes, labels? }`.
 *
 * Ownership: every yielded batch belongs to the consumer, who disposes `x` and `mask`
 * (e.g. `tf.dispose([batch.x, batch.mask])`). Batches built ahead (prefetch) but never
 * yielded, because the loop ended early, are disposed here.
 *
 * `dataset` is a `SetDataset`, a `HostSet[]`, or a (async) stream of HostSets such as
 * `loadPointClouds`; streams are batched in arrival order (`shuffle`/`bucketBySize` need an
 * in-memory dataset).
 */
export function batches(dataset: Source, options: BatchOptions): AsyncGenerator<DatasetBatch> {
  // Arguments are checked here, eagerly, so a bad call throws before anything is iterated.
  const opts = resolveBatchOptions(options);
  if (isInMemory(dataset)) {
    const sets = setsOf(dataset, 'dataset');
    sets.forEach((set, i) => {
      checkHostSet(set, `dataset.sets[${i}]`, { allowEmpty: true });
      if (opts.maxSize !== undefined && set.n > opts.maxSize) {
        throw new ShapeError(`dataset.sets[${i}]: has ${set.n} elements, more than maxSize=${opts.maxSize}`);
      }
      if (set.d !== sets[0].d) {
        throw new ShapeError(
          `dataset.sets[${i}]: expected dimension d=${sets[0].d} like sets[0], got d=${set.d}`,
        );
      }
    });
    const labels = Array.isArray(dataset) ? undefined : (dataset as SetDataset).labels;
    return memoryBatches(
      sets,
      labels,
      batchIndices(
        sets.map((s) => s.n),
        options,
      ),
      opts,
    );
  }
  const isStream =
    typeof dataset === 'object' &&
    dataset !== null &&
    (Symbol.asyncIterator in dataset || Symbol.iterator in dataset);
  if (!isStream) {
    throw new ConfigError(
      `dataset: expected HostSet[], { sets: HostSet[] } or an (async) iterable of HostSet, got ${typeof dataset}`,
    );
  }
  if (opts.shuffle || opts.bucketBySize) {
    throw new ConfigError(
      'shuffle/bucketBySize: need an in-memory dataset ({ sets } or HostSet[]), got a stream',
    );
  }
  return streamBatches(dataset, opts);
}

async function* memoryBatches(
  sets: readonly HostSet[],
  labels: Int32Array | undefined,
  groups: number[][],
  opts: ReturnType<typeof resolveBatchOptions>,
): AsyncGenerator<DatasetBatch> {
  const ready: DatasetBatch[] = [];
  let next = 0;
  let closed = false;
  const build = () => ready.push(makeBatch(sets, groups[next++], opts.maxSize, labels));
  // Runs on a timer, i.e. while the consumer awaits its own work on the current batch.
  const buildAhead = () => {
    while (!closed && ready.length < opts.prefetch && next < groups.length) build();
  };
  try {
    while (next < groups.length || ready.length > 0) {
      if (ready.length === 0) build();
      const batch = ready.shift() as DatasetBatch;
      if (opts.prefetch > 0) setTimeout(buildAhead, 0);
      yield batch;
    }
  } finally {
    closed = true;
    for (const batch of ready.splice(0)) dispose([batch.x, batch.mask as NonNullable<typeof batch.mask>]);
  }
}

async function* streamBatches(
  stream: Iterable<HostSet> | AsyncIterable<HostSet>,
  opts: ReturnType<typeof resolveBatchOptions>,
): AsyncGenerator<DatasetBatch> {
  let pending: HostSet[] = [];
  let position = 0;
  const emit = () => {
    const indices = pending.map((_, k) => position - pending.length + k);
    const batch = makeBatch(
      pending,
      indices.map((_, k) => k),
      opts.maxSize,
    );
    batch.indices = indices;
    pending = [];
    return batch;
  };
  const iterator =
    Symbol.asyncIterator in stream
      ? (stream as AsyncIterable<HostSet>)[Symbol.asyncIterator]()
      : (stream as Iterable<HostSet>)[Symbol.iterator]();
  // With prefetch, the next element is requested before the current batch is handed out, so
  // reading it (e.g. the next .npy file) overlaps with the consumer's work.
  let upcoming: Promise<IteratorResult<HostSet>> | undefined;
  const next = () => {
    const result = upcoming ?? Promise.resolve(iterator.next());
    upcoming = undefined;
    return result;
  };
  let finished = false;
  try {
    while (true) {
      const item = await next();
      if (item.done) break;
      pending.push(checkHostSet(item.value, `dataset[${position}]`, { allowEmpty: true }));
      position++;
      if (pending.length === opts.batchSize) {
        if (opts.prefetch > 0) {
          upcoming = Promise.resolve(iterator.next());
          upcoming.catch(() => undefined); // a failed read surfaces when awaited, not as an unhandled rejection
        }
        yield emit();
      }
    }
    finished = true;
  } finally {
    // Stopped early (consumer break or bad element): close the source after any read in flight.
    if (!finished) {
      await upcoming?.catch(() => undefined);
      await iterator.return?.();
    }
  }
  if (pending.length > 0 && !opts.dropLast) yield emit();
}

/**
 * An adapter for `tf.data.generator` (tfjs-data is not a dependency): returns a generator
 * function yielding `{ x, mask }` tensors batch by batch, e.g.
 * `tf.data.generator(toTfDataGenerator(dataset, { batchSize: 32, shuffle: true }))`.
 * Each call starts a new epoch (with the same seed); the tensors are owned by tf.data / its consumer.
 */
export function toTfDataGenerator(
  dataset: SetDataset | readonly HostSet[],
  options: BatchOptions,
): () => Generator<SetBatch> {
  resolveBatchOptions(options);
  const sets = setsOf(dataset, 'dataset');
  sets.forEach((set, i) => {
    checkHostSet(set, `dataset.sets[${i}]`, { allowEmpty: true });
  });
  return function* () {
    for (const indices of batchIndices(
      sets.map((s) => s.n),
      options,
    )) {
      const { x, mask } = makeBatch(sets, indices, options.maxSize);
      yield { x, mask };
    }
  };
}

/** A per-epoch factory of batches, as `fit` of `@setgen/models` takes it. */
export interface EpochBatches {
  (epoch: number): AsyncGenerator<DatasetBatch>;
  /** Batches per epoch. */
  stepsPerEpoch: number;
}

/**
 * Batches for training, epoch by epoch: `epochBatches(train, { batchSize: 64, seed: 42 })(e)`
 * is `batches(train, { shuffle: true, ..., seed: seed + e })`, so every epoch has its own
 * order and a resumed run sees the batches it would have seen. Pass it to a model's `fit`.
 */
export function epochBatches(dataset: SetDataset | readonly HostSet[], options: BatchOptions): EpochBatches {
  const opts = resolveBatchOptions(options);
  const sets = setsOf(dataset, 'dataset');
  const stepsPerEpoch = batchIndices(
    sets.map((s) => s.n),
    { ...options, shuffle: false },
  ).length;
  const factory = (epoch: number) => batches(dataset, { shuffle: true, ...options, seed: opts.seed + epoch });
  return Object.assign(factory, { stepsPerEpoch });
}
