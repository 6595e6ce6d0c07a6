import type { HostSet } from '@setgen/ops';

/**
 * An in-memory dataset of sets: `sets[i]` is one set on the host (row-major `values [n·d]`),
 * `labels[i]` its class when the dataset has one. Every generator in this package returns a
 * `SetDataset` (extended with its own fields), and `batches`/`toSetBatch` accept one.
 */
export interface SetDataset {
  sets: HostSet[];
  labels?: Int32Array;
}
