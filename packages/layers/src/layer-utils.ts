// Plumbing shared by the set layers: masks from `kwargs`, argument checks that throw our
// typed errors before any tensor work, and building a layer inside another one.

import { ConfigError, formatShape, ShapeError } from '@setgen/ops';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';

/** Keyword arguments of `Layer.call` / `Layer.apply`. */
export type Kwargs = Record<string, any>;
/** The base options of every tfjs-layers Layer (name, trainable, inputShape, ...). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
/** A tfjs-layers shape: `null` for an unknown dimension. */
export type Shape = (number | null)[];

function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && 'shape' in value && 'dataId' in value;
}

/**
 * A `[B, N]` valid-mask (1 = element, 0 = padding) for the set `x [B, N, ...]`, or null.
 * Throws `ShapeError` naming `name` when the mask does not match `x`.
 */
export function checkMask(mask: unknown, x: Tensor, name: string): Tensor2D | null {
  if (mask === undefined || mask === null) return null;
  if (!isTensor(mask)) {
    throw new ShapeError(
      `${name}: expected a Tensor2D ${formatShape(x.shape.slice(0, 2))} or null, got ${typeof mask}`,
    );
  }
  if (mask.rank !== 2 || mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1]) {
    throw new ShapeError(
      `${name}: expected shape ${formatShape(x.shape.slice(0, 2))} to match the set ${formatShape(x.shape)}, got ${formatShape(mask.shape)}`,
    );
  }
  return mask as Tensor2D;
}

/**
 * The masks in `kwargs.mask`, one per input (`null` for none), checked against `inputs`.
 * Accepts a single mask for a single input, or an array aligned with the inputs.
 */
export function masksFromKwargs(
  kwargs: Kwargs | undefined,
  inputs: Tensor[],
  layer: string,
): (Tensor2D | null)[] {
  const given: unknown = kwargs?.mask;
  if (given === undefined || given === null) return inputs.map(() => null);
  const list: unknown[] = Array.isArray(given) ? given : [given];
  if (list.length !== inputs.length) {
    throw new ShapeError(
      `${layer}: kwargs.mask must have one entry per input (${inputs.length}, null for none), got ${list.length}`,
    );
  }
  return inputs.map((x, i) =>
    checkMask(list[i], x, inputs.length === 1 ? `${layer} mask` : `${layer} mask[${i}]`),
  );
}

/** The inputs of a `call` as a list of `count` tensors, or a `ShapeError` naming the layer. */
export function inputList(
  inputs: Tensor | Tensor[],
  count: number,
  layer: string,
  expected: string,
): Tensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length !== count || !list.every(isTensor)) {
    throw new ShapeError(`${layer}: expected ${expected}, got ${list.length} input(s)`);
  }
  return list;
}

/** Throws `ShapeError` unless `x` is `[B, N, width]` (any width when `width` is null). */
export function checkSet(x: Tensor, width: number | null, name: string): void {
  if (x.rank !== 3 || (width !== null && x.shape[2] !== width)) {
    throw new ShapeError(
      `${name}: expected a set of shape ${formatShape([null, null, width])}, got ${formatShape(x.shape)}`,
    );
  }
}

/** A positive integer option, or `ConfigError` naming the layer and option. */
export function checkPositiveInteger(value: unknown, name: string, layer: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${layer}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** One of `choices`, or `ConfigError` naming the layer and option. */
export function checkChoice<T extends string>(
  value: unknown,
  choices: readonly T[],
  name: string,
  layer: string,
): T {
  if (!choices.includes(value as T)) {
    throw new ConfigError(
      `${layer}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(' | ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Weight-name scopes of the sub-layers being built (outer first). */
const buildScopes: string[] = [];

/**
 * Builds `sublayer` inside its parent with weight names prefixed by `scope/` (after the
 * scopes of any parent being built this way), so that a layer's weights have unique names
 * when a model is saved and loaded (tfjs-layers keeps its name scopes private; Bidirectional
 * does the same with its forward/backward layers).
 */
export function buildSublayer(sublayer: layers.Layer, scope: string, inputShape: Shape | Shape[]): void {
  // addWeight is protected in tfjs-layers' typings; shadow it on this instance only
  const target = sublayer as unknown as { addWeight: (name: string, ...rest: unknown[]) => unknown };
  const addWeight = target.addWeight;
  buildScopes.push(scope);
  const prefix = buildScopes.join('/');
  target.addWeight = (name, ...rest) => addWeight.call(sublayer, `${prefix}/${name}`, ...rest);
  try {
    sublayer.build(inputShape);
    sublayer.built = true;
  } finally {
    buildScopes.pop();
    delete (target as { addWeight?: unknown }).addWeight; // back to the prototype's method
  }
}
