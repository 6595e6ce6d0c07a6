// Argument checks of the set predictors (DSPN, TSPN), thrown before any tensor work.
import { formatShape, ShapeError } from '@setgen/ops';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';

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
