/**
 * Errors thrown by every `@setgen` package. Messages name the argument, what was expected
 * and what was received, so a user can fix the call without reading our code.
 */
export class SetgenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor or array has the wrong rank, size or a dimension that does not match. */
export class ShapeError extends SetgenError {}

/** An option or layer/model configuration is invalid. */
export class ConfigError extends SetgenError {}

/** Values are invalid (NaN, Infinity, empty sets) or a file is malformed. */
export class DataError extends SetgenError {}

/** Formats a shape for messages: `[2,5,3]`. */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}
