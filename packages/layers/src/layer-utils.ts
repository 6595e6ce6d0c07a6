// Plumbing shared by the set layers: masks from `kwargs`, argument checks that throw our
// typed errors before any tensor work (built on the shared checks of `@setgen/ops/internal`),
// the shapes of a layer's input, and building a layer inside another one.

import { formatShape, ShapeError } from '@setgen/ops';
import {
  type Check,
  type CheckedOptions,
  checkFloat32,
  checkOptions,
  is,
  isTensor,
} from '@setgen/ops/internal';
import {
  add,
  expandDims,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import type { LayerVariable, layers } from '@tensorflow/tfjs-layers';

/** Keyword arguments of `Layer.call` / `Layer.apply`. */
export type Kwargs = Record<string, any>;
/** The base options of every tfjs-layers Layer (name, trainable, inputShape, ...). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
/** A tfjs-layers shape: `null` for an unknown dimension. */
export type Shape = (number | null)[];

/**
 * The keys of tfjs-layers' `LayerArgs`, which every layer passes on to `Layer` unchecked, and
 * the `customObjects` that tfjs-layers adds to a config when it deserialises a layer.
 */
const BASE_LAYER_ARGS: Record<keyof LayerArgs | 'customObjects', Check<unknown>> = {
  customObjects: is.any,
  name: is.any,
  trainable: is.any,
  inputShape: is.any,
  batchInputShape: is.any,
  batchSize: is.any,
  dtype: is.any,
  weights: is.any,
  inputDType: is.any,
};

/**
 * Checks a layer's constructor `args` against its own options `spec` (plus tfjs-layers'
 * `LayerArgs`): an unknown key (a typo) or a value of the wrong type is a `ConfigError`
 * naming `layer.key`. Required options are checked by the caller.
 */
export function checkLayerArgs<S extends Record<string, Check<unknown>>>(
  args: unknown,
  spec: S,
  layer: string,
): CheckedOptions<S> {
  return checkOptions(args, { ...BASE_LAYER_ARGS, ...spec }, layer) as CheckedOptions<S>;
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

/**
 * Throws `ShapeError` unless `x` is `[B, N, width]` (any width when `width` is null), and
 * `DataError` unless it is float32 (naming `name`, not an op deep inside the layer).
 */
export function checkSet(x: Tensor, width: number | null, name: string): void {
  if (!isTensor(x) || x.rank !== 3 || (width !== null && x.shape[2] !== width)) {
    throw new ShapeError(
      `${name}: expected a set of shape ${formatShape([null, null, width])}, got ${
        isTensor(x) ? formatShape(x.shape) : typeof x
      }`,
    );
  }
  checkFloat32(x, name);
}

/** One `[B, N, D]` shape from a build/computeOutputShape argument, or `ShapeError`. */
export function singleSetShape(inputShape: Shape | Shape[], layer: string): Shape {
  const shape = (
    Array.isArray(inputShape[0]) && inputShape.length === 1 ? inputShape[0] : inputShape
  ) as Shape;
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => Array.isArray(d))) {
    throw new ShapeError(`${layer}: expected one set of shape [B,N,D], got ${JSON.stringify(inputShape)}`);
  }
  return shape;
}

/**
 * The `m` learned rows `P [m, units]` repeated over a batch of `b` sets → `[b, m, units]`.
 * A broadcasting add rather than `tile`: its gradient is one sum over the batch, where
 * tile's is a slice and an add per set.
 */
export function tileOverBatch(points: LayerVariable, b: number): Tensor3D {
  return tidy(() => add(zeros([b, 1, 1]), expandDims(points.read(), 0)) as Tensor3D);
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
