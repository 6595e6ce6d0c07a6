// Layers of this package can be used directly (`create`, `pool`, `sample`) as well as through
// `apply`. Building on such a first direct call must leave the layer as `apply` would in eager
// mode: weight names scoped by the layer name, and a reference count so `dispose()` works.
import type { layers } from '@tensorflow/tfjs-layers';
import { buildSublayer, type Shape } from './layer-utils.js';

/** Builds `layer` for `inputShape` outside `apply`, as `apply` would. */
export function buildEagerly(layer: layers.Layer, inputShape: Shape | Shape[]): void {
  buildSublayer(layer, layer.name, inputShape);
  // tfjs-layers counts the users of a layer from its first eager apply (private field)
  const counted = layer as unknown as { _refCount: number | null };
  if (counted._refCount === null) counted._refCount = 1;
}
