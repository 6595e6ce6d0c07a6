// Checks of model config fields, throwing `ConfigError` naming `config.<field>` before any
// tensor work. Shared by the model configs.
import { ConfigError } from '@setgen/ops';

export function checkConfigObject(config: unknown, what: string): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(`config: expected a ${what} object, got ${JSON.stringify(config)}`);
  }
}

export function checkPositiveIntegerField(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`config.${name}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
}

export function checkNonNegativeField(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`config.${name}: expected a finite number >= 0, got ${JSON.stringify(value)}`);
  }
}

export function checkPositiveField(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`config.${name}: expected a finite number > 0, got ${JSON.stringify(value)}`);
  }
}

export function checkIntegerField(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ConfigError(`config.${name}: expected an integer, got ${JSON.stringify(value)}`);
  }
}

export function checkBooleanField(name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new ConfigError(`config.${name}: expected a boolean, got ${JSON.stringify(value)}`);
  }
}

export function checkChoiceField<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new ConfigError(
      `config.${name}: expected ${choices.map((c) => `'${c}'`).join(' | ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Throws for fields the config type does not have (typos must not pass silently). */
export function checkKnownFields(config: object, known: readonly string[]): void {
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      throw new ConfigError(`config.${key}: unknown field (known: ${known.join(', ')})`);
    }
  }
}
