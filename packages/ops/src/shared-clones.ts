// Tensors saved for a backward pass without copying them on tfjs-wasm. tfjs-core's engine
// keeps every tensor an op saves for its gradient as `clone(t)`, and a clone runs the
// backend's Identity kernel: tfjs-cpu and tfjs-webgl return the same data with its reference
// count raised, but tfjs-wasm copies the whole tensor (≈ 500 copies in a training step of the
// one-shot set VAE). tfjs tensors are immutable — no kernel of tfjs-wasm or of @setgen writes
// into an input — so sharing is safe; tfjs-wasm's own Reshape shares data the same way.
// `withSharedClones(f)` runs `f` with tfjs-wasm's Identity sharing instead of copying and puts
// the original kernel back afterwards (also when `f` throws); on other backends it only runs `f`.
import {
  type GradSaveFunc,
  getBackend,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type Tensor,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

const IDENTITY = 'Identity';
const BACKEND = 'wasm';

interface RefCounting {
  incRef(dataId: unknown): void;
}

/** Identity that shares its input's data (as tfjs-cpu's does); strings go to tfjs-wasm's own kernel. */
function sharing(original: KernelConfig): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as unknown as RefCounting).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Nesting depth of `withSharedClones` (only the outermost call swaps the kernel). */
let depth = 0;

/**
 * Runs `f` with clones on tfjs-wasm sharing their data instead of copying it (what tfjs-cpu
 * and tfjs-webgl always do), so that the tensors ops save for their gradients inside `f` cost
 * no copy. Same values, same tensor counts; elsewhere (or when tfjs-wasm's Identity is not the
 * one registered) it just runs `f`.
 */
export function withSharedClones<T>(f: () => T): T {
  if (depth > 0 || getBackend() !== BACKEND) return f();
  const original = getKernel(IDENTITY, BACKEND);
  if (!original) return f();
  unregisterKernel(IDENTITY, BACKEND);
  registerKernel({ kernelName: IDENTITY, backendName: BACKEND, kernelFunc: sharing(original) });
  depth++;
  try {
    return f();
  } finally {
    depth--;
    unregisterKernel(IDENTITY, BACKEND);
    registerKernel(original);
  }
}

/** `save(tensors)` of a `customGrad` op through `withSharedClones`: no copies on tfjs-wasm. */
export function saveShared(save: GradSaveFunc, tensors: Tensor[]): void {
  withSharedClones(() => save(tensors));
}
