// Argument checks shared by the generators and loaders (internal: not exported from the package).
import { ConfigError, DataError, type HostSet } from '@setgen/ops';
import type { SetDataset } from './dataset.js';

/** Checks an integer option in [min, max]; throws `ConfigError` naming it. */
export function checkInteger(
  value: unknown,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      min === Number.MIN_SAFE_INTEGER
        ? ''
        : max === Number.MAX_SAFE_INTEGER
          ? ` >= ${min}`
          : ` in [${min}, ${max}]`;
    throw new ConfigError(`${name}: expected an integer${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a finite number option in [min, max]. */
export function checkNumber(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a string option against its allowed values. */
export function checkChoice<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new ConfigError(
      `${name}: expected ${choices.map((c) => `'${c}'`).join(' | ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Checks that `set` is a well-formed HostSet (`values.length === n·d`, finite values). */
export function checkHostSet(set: HostSet, name: string): HostSet {
  if (
    !set ||
    !(set.values instanceof Float32Array || set.values instanceof Float64Array) ||
    !Number.isInteger(set.n) ||
    !Number.isInteger(set.d) ||
    set.n < 0 ||
    set.d < 1 ||
    set.values.length !== set.n * set.d
  ) {
    const got = set?.values ? `n=${set.n}, d=${set.d}, values.length=${set.values.length}` : String(set);
    throw new DataError(
      `${name}: expected a HostSet { values: Float32Array|Float64Array [n·d], n, d }, got ${got}`,
    );
  }
  return set;
}

/** The sets of a dataset given either as a `SetDataset` or a bare `HostSet[]`. */
export function setsOf(dataset: SetDataset | readonly HostSet[], name: string): readonly HostSet[] {
  const sets = Array.isArray(dataset) ? dataset : (dataset as SetDataset)?.sets;
  if (!Array.isArray(sets)) {
    throw new ConfigError(`${name}: expected HostSet[] or { sets: HostSet[] }, got ${typeof dataset}`);
  }
  return sets;
}
