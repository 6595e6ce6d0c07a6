// The dataset argument of the batching functions (internal: not exported from the package).
// Every other argument check comes from `@setgen/ops/internal`, shared by all packages.
import { ConfigError, type HostSet } from '@setgen/ops';
import type { SetDataset } from './dataset.js';

/** The sets of a dataset given either as a `SetDataset` or a bare `HostSet[]`. */
export function setsOf(dataset: SetDataset | readonly HostSet[], name: string): readonly HostSet[] {
  const sets = Array.isArray(dataset) ? dataset : (dataset as SetDataset)?.sets;
  if (!Array.isArray(sets)) {
    throw new ConfigError(`${name}: expected HostSet[] or { sets: HostSet[] }, got ${typeof dataset}`);
  }
  return sets;
}
