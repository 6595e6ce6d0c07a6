// Argument checks shared by every @setgen package (exported from `@setgen/ops/internal`).
// One definition per kind of bad input, each with one error class: a wrong type, an option
// outside its range or choices, an unknown option key → ConfigError; a wrong shape or layout
// → ShapeError; bad values (NaN, empty sets, a dtype that is not float32) → DataError. Every check runs on the host before
// any tensor work and names the argument: `name` is what the caller wrote (`'epsilon'`,
// `'MultiheadAttentionBlock.units'`, `'sets[3]'`).
import type { Tensor } from '@tensorflow/tfjs-core';
import { ConfigError, DataError, formatShape } from './errors.js';

/** A check of one value: returns it (narrowed) or throws a typed error naming `name`. */
export type Check<T> = (value: unknown, name: string) => T;

/** `value` as the caller wrote it, for messages (strings quoted, tensors by shape). */
export function describe(value: unknown): string {
  if (isTensor(value)) return `a ${value.dtype} tensor ${formatShape(value.shape)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return typeof value;
}

/** Whether `value` is a tfjs tensor (duck-typed, so tensors of another tfjs copy count too). */
export function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' && value !== null && 'shape' in value && 'dtype' in value && 'dataId' in value
  );
}

/** Whether `value` is a plain options object (not an array, tensor or typed array). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    !isTensor(value)
  );
}

/** One of `choices`, or `ConfigError`. */
export function checkChoice<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new ConfigError(
      `${name}: expected ${choices.map((c) => `'${c}'`).join(' | ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

/** An integer in `[min, max]` (a number of type 'number', not a string), or `ConfigError`. */
export function checkInteger(
  value: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      min === Number.MIN_SAFE_INTEGER
        ? max === Number.MAX_SAFE_INTEGER
          ? ''
          : ` <= ${max}`
        : max === Number.MAX_SAFE_INTEGER
          ? ` >= ${min}`
          : ` in [${min}, ${max}]`;
    throw new ConfigError(`${name}: expected an integer${range}, got ${describe(value)}`);
  }
  return value;
}

/** An integer ≥ 1, or `ConfigError`. */
export function checkPositiveInteger(value: unknown, name: string): number {
  return checkInteger(value, name, 1);
}

/** Bounds of {@link checkNumber}; `positive` means > 0. */
export interface NumberRange {
  min?: number;
  max?: number;
  positive?: boolean;
  /** Allow ±Infinity (never NaN); default false. */
  infinite?: boolean;
}

/** A number (never NaN; finite unless `infinite`) within the range, or `ConfigError`. */
export function checkNumber(value: unknown, name: string, range: NumberRange = {}): number {
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, positive = false } = range;
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (range.infinite || Number.isFinite(value)) &&
    value >= min &&
    value <= max &&
    (!positive || value > 0);
  if (!ok) {
    const bounded = min > Number.NEGATIVE_INFINITY && max < Number.POSITIVE_INFINITY;
    const bounds = bounded
      ? [`in [${min}, ${max}]`]
      : [
          positive ? '> 0' : '',
          min > Number.NEGATIVE_INFINITY ? `>= ${min}` : '',
          max < Number.POSITIVE_INFINITY ? `<= ${max}` : '',
        ].filter(Boolean);
    const kind = range.infinite || bounded ? 'a number' : 'a finite number';
    throw new ConfigError(
      `${name}: expected ${kind}${bounds.length ? ` ${bounds.join(' and ')}` : ''}, got ${describe(value)}`,
    );
  }
  return value as number;
}

/** `true` or `false` (not `'false'`, not 0), or `ConfigError`. */
export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean')
    throw new ConfigError(`${name}: expected true or false, got ${describe(value)}`);
  return value;
}

/**
 * A function, or `ConfigError`.
 * @typeParam T - the function type the caller expects (not checked beyond `typeof`).
 */
export function checkFunction<T extends (...args: never[]) => unknown>(value: unknown, name: string): T {
  if (typeof value !== 'function')
    throw new ConfigError(`${name}: expected a function, got ${describe(value)}`);
  return value as T;
}

/** A string, or `ConfigError`. */
export function checkString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new ConfigError(`${name}: expected a string, got ${describe(value)}`);
  return value;
}

/** A seed: an integer (any sign), or `ConfigError`. */
export function checkSeed(value: unknown, name: string): number {
  return checkInteger(value, name);
}

/** Checks of the common option kinds, for {@link checkOptions} specs. */
export const is = {
  boolean: checkBoolean as Check<boolean>,
  string: checkString as Check<string>,
  seed: checkSeed as Check<number>,
  /** A function. */
  function: ((value, name) => checkFunction(value, name)) as Check<(...args: never[]) => unknown>,
  /** Anything but undefined (checked by the callee). */
  any: ((value) => value) as Check<unknown>,
  /** An integer in [min, max] (bounds optional). */
  integer:
    (min?: number, max?: number): Check<number> =>
    (value, name) =>
      checkInteger(value, name, min, max),
  /** A number within `range` (finite unless `range.infinite`). */
  number:
    (range?: NumberRange): Check<number> =>
    (value, name) =>
      checkNumber(value, name, range),
  /** One of `choices`. */
  oneOf:
    <T extends string>(choices: readonly T[]): Check<T> =>
    (value, name) =>
      checkChoice(value, name, choices),
};

/** Edit distance between two short strings (for "did you mean"). */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The options a spec describes, each optional, typed by its check. */
export type CheckedOptions<S extends Record<string, Check<unknown>>> = {
  [K in keyof S]?: S[K] extends Check<infer T> ? T : never;
};

/**
 * Checks an options object against `spec` (option name → check): `undefined`/`null` is `{}`;
 * anything but a plain object, a key the spec does not know (a typo such as `maximise`), or a
 * value its check refuses (`maximize: 'false'`) throws `ConfigError` naming `context.key`.
 * Keys whose value is `undefined` are treated as absent. Returns the checked values.
 */
export function checkOptions<S extends Record<string, Check<unknown>>>(
  options: unknown,
  spec: S,
  context = 'options',
): CheckedOptions<S> {
  if (options === undefined || options === null) return {};
  if (!isPlainObject(options)) {
    throw new ConfigError(`${context}: expected an options object, got ${describe(options)}`);
  }
  const known = Object.keys(spec);
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(spec, key)) {
      const near = known
        .map((k) => {
          const [a, b] = [key.toLowerCase(), k.toLowerCase()];
          // a typo (edit distance ≤ 2) or a truncated/extended name (`gammaBias` for `gammaBiasInit`)
          return [k, a.length > 2 && (b.startsWith(a) || a.startsWith(b)) ? 1 : editDistance(a, b)] as const;
        })
        .filter(([, d]) => d <= 2)
        .sort((x, y) => x[1] - y[1])[0];
      throw new ConfigError(
        `${context}.${key}: unknown option${near ? ` (did you mean '${near[0]}'?)` : ''}; expected ${
          known.length ? known.map((k) => `'${k}'`).join(', ') : 'no options'
        }`,
      );
    }
    const value = options[key];
    if (value !== undefined) result[key] = spec[key](value, `${context}.${key}`);
  }
  return result as CheckedOptions<S>;
}

/**
 * A float32 tensor, or `DataError` naming the argument (int32 or bool input would otherwise
 * fail deep inside with the name of an internal op).
 */
export function checkFloat32(t: Tensor, name: string): void {
  if (t.dtype !== 'float32') {
    throw new DataError(
      `${name}: expected a float32 tensor, got dtype ${t.dtype} (cast it with tf.cast(x, 'float32'))`,
    );
  }
}
