// Reads a SetBatch to the host for the discrete choices of the losses (neighbours,
// assignments), checking values on the way: NaN/Inf in a valid element or a set with no
// valid element is a DataError that names the argument and the batch element.
import { DataError } from './errors.js';
import type { SetBatch } from './set-batch.js';

/** A batch of sets on the host: `values [B·N·D]` row-major, and the valid rows of each set. */
export interface HostSetBatch {
  values: Float32Array;
  batch: number;
  n: number;
  d: number;
  /** `valid[b]` = ascending indices of the valid elements of set `b` (mask > 0.5). */
  valid: Int32Array[];
  /** True when there is no padding at all (no mask, or a mask of ones). */
  dense: boolean;
}

/** Reads `batch` (already checked by `asSetBatch`) to the host; `name` is used in errors. */
export function readSetBatch(batch: SetBatch, name: string): HostSetBatch {
  const [b, n, d] = batch.x.shape;
  const values = batch.x.dataSync() as Float32Array;
  const mask = batch.mask ? batch.mask.dataSync() : null;
  const valid: Int32Array[] = [];
  let dense = true;
  for (let s = 0; s < b; s++) {
    let count = 0;
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (mask && !(mask[s * n + i] > 0.5)) continue;
      for (let k = 0, p = (s * n + i) * d; k < d; k++) {
        if (!Number.isFinite(values[p + k])) {
          throw new DataError(`${name}: expected finite values, got ${values[p + k]} at x[${s},${i},${k}]`);
        }
      }
      rows[count++] = i;
    }
    if (count === 0)
      throw new DataError(`${name}: batch element ${s} has no valid elements (mask all 0 or N = 0)`);
    if (count < n) dense = false;
    valid.push(rows.subarray(0, count));
  }
  return { values, batch: b, n, d, valid, dense };
}
