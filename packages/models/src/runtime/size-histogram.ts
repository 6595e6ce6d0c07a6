// The empirical distribution of set sizes seen in training: models that do not predict n
// (SetVAE; Top-n's 'histogram' sampling) generate at sizes drawn from it. Counted after each
// training step, saved in checkpoints with the model's training state.
import { ConfigError, DataError, type Random } from '@setgen/ops';
import type { TrainBatch } from './set-model.js';

/** How many training sets of each size were seen. */
export class SizeHistogram {
  private readonly counts = new Map<number, number>();

  /** Counts the sets of a trained batch (a mask entry of 1 is an element; no mask: every row). */
  record(batch: TrainBatch): void {
    const [b, n] = batch.x.shape;
    const mask = batch.mask?.dataSync();
    for (let i = 0; i < b; i++) {
      let size = n;
      if (mask) {
        size = 0;
        for (let j = 0; j < n; j++) size += mask[i * n + j] === 1 ? 1 : 0;
      }
      this.counts.set(size, (this.counts.get(size) ?? 0) + 1);
    }
  }

  /** `count` sizes drawn in proportion to the counts (`random` is made once the arguments are checked); `ConfigError` before any training. */
  draw(count: number, random: () => Random): number[] {
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError(`count: expected a positive integer, got ${count}`);
    const entries = this.entries();
    const total = entries.reduce((sum, [, c]) => sum + c, 0);
    if (total === 0) {
      throw new ConfigError(
        'sampleSizes: no training cardinalities recorded yet (train first, or pass sizes to sample())',
      );
    }
    const stream = random();
    return Array.from({ length: count }, () => {
      let r = stream.next() * total;
      for (const [size, c] of entries) {
        r -= c;
        if (r < 0) return size;
      }
      return entries[entries.length - 1][0];
    });
  }

  /** `[size, count]` pairs, ascending by size (what checkpoints store as `cardinalities`). */
  entries(): [number, number][] {
    return [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Replaces the counts by saved pairs (a `DataError` when they are malformed). */
  restore(pairs: unknown): void {
    const valid =
      Array.isArray(pairs) &&
      pairs.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v > 0));
    if (!valid)
      throw new DataError(
        `cardinalities: expected [size, count] pairs of positive integers, got ${JSON.stringify(pairs)}`,
      );
    this.counts.clear();
    for (const [size, count] of pairs as [number, number][]) this.counts.set(size, count);
  }
}
