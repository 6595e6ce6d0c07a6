// Argument checks of the models' set inputs (batches, sizes, latents per level), thrown before
// any tensor work, and the trimming of a padded batch to its valid columns.
import {
  asSetBatch,
  ConfigError,
  DataError,
  formatShape,
  type SetBatch,
  type SetLike,
  ShapeError,
} from '@setgen/ops';
import { elementMask, readSetBatch, zeroPadding } from '@setgen/ops/internal';
import { slice, type Tensor, type Tensor2D, type Tensor3D } from '@tensorflow/tfjs-core';

function shapeOf(t: unknown): string {
  return t && typeof t === 'object' && 'shape' in t ? formatShape((t as Tensor3D).shape) : typeof t;
}

/**
 * `x [B, n, setDim]` with an optional `mask [B, n]`; returns the mask's values (or undefined)
 * for the caller's host-side work. `ShapeError` naming `name` otherwise.
 */
export function checkSetInput(
  x: Tensor3D,
  mask: Tensor2D | null | undefined,
  setDim: number,
  name: string,
): ArrayLike<number> | undefined {
  if (!(x && typeof x === 'object' && 'rank' in x) || x.rank !== 3 || x.shape[2] !== setDim) {
    throw new ShapeError(`${name}: expected a Tensor3D [B, n, ${setDim}], got ${shapeOf(x)}`);
  }
  const [b, n] = x.shape;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== n)) {
    throw new ShapeError(`${name} mask: expected [${b}, ${n}], got ${shapeOf(mask)}`);
  }
  return mask?.dataSync();
}

/** z `[B, latentDim]`, or `ShapeError` naming `name`. */
export function checkLatent(z: Tensor2D, latentDim: number, name: string): void {
  if (!(z && typeof z === 'object' && 'rank' in z) || z.rank !== 2 || z.shape[1] !== latentDim) {
    throw new ShapeError(`${name}: expected a Tensor2D [B, ${latentDim}], got ${shapeOf(z)}`);
  }
}

/** What `checkSetBatch` requires besides a SetBatch. */
export interface SetBatchRequirements {
  /** Width D of the elements. */
  dim: number;
  /** Where `dim` comes from, for the message (e.g. 'config.inputDim'). */
  dimName: string;
  /** Number of sets B, when it is fixed by another argument. */
  batchSize?: number;
}

/**
 * `value` as a SetBatch `x [B ≥ 1, N ≥ 1, dim]` (+ mask), or `ShapeError`/`DataError` naming
 * `name` (`asSetBatch` checks the layout and dtype).
 */
export function checkSetBatch(
  value: SetLike,
  name: string,
  { dim, dimName, batchSize }: SetBatchRequirements,
): SetBatch {
  const batch = asSetBatch(value, name);
  const [b, n, d] = batch.x.shape;
  if (d !== dim || (batchSize !== undefined && b !== batchSize)) {
    throw new ShapeError(
      `${name}: expected elements of dimension ${dim} (x [${batchSize ?? 'B'},N,${dim}], ${dimName}), got ${formatShape(batch.x.shape)}`,
    );
  }
  if (b === 0 || n === 0) {
    throw new ShapeError(
      `${name}: expected at least one set of at least one element (x [B≥1,N≥1,${d}]), got ${formatShape(batch.x.shape)}`,
    );
  }
  return batch;
}

/** Options of `trimPadding`. */
export interface TrimOptions {
  /** Largest valid size a set may have (and its name, for the message). */
  maxSize?: { value: number; name: string };
  /** Keep the padded length (drop no column), e.g. when the padding takes part in a result. */
  keepLength?: boolean;
}

/**
 * Valid elements per set (read on the host) and the batch trimmed: trailing all-padding
 * columns dropped, an all-ones mask dropped, padding zeroed (NaN or 1e30 there cannot reach a
 * sum). `mask > 0.5` is an element (the one definition of `@setgen/ops`: 0.7 counts as 1, 0.3
 * and NaN as 0); every set needs 1 to `maxSize` valid elements (`DataError`).
 * Makes tensors: call it inside a tidy.
 */
export function trimPadding(
  batch: SetBatch,
  name: string,
  options: TrimOptions = {},
): { batch: SetBatch; sizes: number[] } {
  const [b, n] = batch.x.shape;
  const sizes = new Array<number>(b).fill(n);
  let last = n;
  const values = batch.mask?.dataSync();
  if (values) {
    sizes.fill(0);
    last = 0;
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < n; j++) {
        if (values[i * n + j] > 0.5) {
          sizes[i]++;
          last = Math.max(last, j + 1);
        }
      }
    }
    if (options.keepLength) last = n;
  }
  const { maxSize } = options;
  const expected = maxSize
    ? `1 to ${maxSize.value} (${maxSize.name}) valid elements`
    : 'at least one valid element';
  sizes.forEach((size, i) => {
    if (size < 1 || (maxSize && size > maxSize.value)) {
      throw new DataError(
        `${values ? `${name}.mask` : name}: set ${i} has ${size === 0 ? 'no valid element' : `${size} elements`}; expected ${expected} per set`,
      );
    }
  });
  if (!batch.mask || !values) return { batch, sizes };
  const x = last === n ? batch.x : slice(batch.x, [0, 0, 0], [b, last, -1]);
  // every kept row valid: the mask says nothing more, and the unmasked path is cheaper
  if (sizes.every((size) => size === last)) return { batch: { x }, sizes };
  const kept = last === n ? batch.mask : slice(batch.mask, [0, 0], [b, last]);
  // soft values become 0/1 here, so no later sum or product can see a 0.7
  const mask = values.every((v) => v === 0 || v === 1) ? kept : elementMask(kept);
  return { batch: { x: zeroPadding(x, mask), mask }, sizes };
}

/** Set sizes to generate: a non-empty array of integers in [1, maxSize.value] (`ConfigError`). */
export function checkSizes(sizes: number[], name: string, maxSize: { value: number; name: string }): void {
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new ConfigError(`${name}: expected a non-empty array of set sizes, got ${JSON.stringify(sizes)}`);
  }
  sizes.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1 || n > maxSize.value) {
      throw new ConfigError(
        `${name}[${i}]: expected an integer in [1, ${maxSize.value}] (${maxSize.name}), got ${n}`,
      );
    }
  });
}

/** Optional tensors given per level (null/undefined: not given), each of the expected shape (`ShapeError`). */
export function checkPerLevel(
  given: readonly (Tensor | null | undefined)[] | undefined,
  shapes: number[][],
  name: string,
): void {
  if (given === undefined) return;
  if (!Array.isArray(given) || given.length > shapes.length) {
    throw new ConfigError(`${name}: expected an array of at most ${shapes.length} levels (top-down)`);
  }
  given.forEach((t, l) => {
    const want = shapes[l];
    if (
      t !== null &&
      t !== undefined &&
      !(t.rank === want.length && t.shape.every((d: number, i: number) => d === want[i]))
    ) {
      throw new ShapeError(`${name}[${l}]: expected ${formatShape(want)}, got ${formatShape(t.shape)}`);
    }
  });
}

/**
 * Runs a loss `term` whose op refuses non-finite values at valid elements, and names what holds
 * them: the caller's `input` (as `batch`), or else `output` (e.g. "loss: the model's
 * reconstruction", whose weights then have diverged), instead of the op's own argument name.
 */
export function blameNonFinite<T>(term: () => T, input: SetBatch, output: string): T {
  try {
    return term();
  } catch (error) {
    if (!(error instanceof DataError && /finite/.test(error.message))) throw error;
    readSetBatch(input, 'batch'); // throws when the input holds them
    const where = error.message.replace(/^\w+: expected finite values, got /, '');
    throw new DataError(
      `${output} is not finite (${where}) although the batch is: its weights have diverged or overflowed`,
    );
  }
}

/**
 * A model's input batch: checked (`checkSetBatch`), trimmed (`trimPadding`) and, with
 * `checkValues`, finite at every valid element (read on the host). Call it inside a tidy.
 */
export function readSetInput(
  value: SetLike,
  name: string,
  options: SetBatchRequirements & TrimOptions & { checkValues?: boolean },
): { batch: SetBatch; sizes: number[] } {
  const trimmed = trimPadding(checkSetBatch(value, name, options), name, options);
  if (options.checkValues) readSetBatch(trimmed.batch, name);
  return trimmed;
}
