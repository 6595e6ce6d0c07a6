// Tensors saved for a backward pass without copying them on tfjs-wasm. tfjs-core's engine
// keeps every tensor an op saves for its gradient as `clone(t)`, and a clone runs the
// backend's Identity kernel: tfjs-cpu and tfjs-webgl return the same data with its reference
// count raised, but tfjs-wasm copies the whole tensor (≈ 500 copies in a training step of the
// one-shot set VAE). tfjs tensors are immutable — no kernel of tfjs-wasm or of @setgen writes
// into an input — so sharing is safe; tfjs-wasm's own Reshape shares data the same way.
// `withSharedClones(f)` runs `f` with tfjs-wasm's Identity sharing instead of copying and puts
// the original kernel back afterwards (also when `f` throws).
//
// Each such save also costs a kernel dispatch and a node on the gradient tape (≈ 1,200 of the
// ≈ 4,900 dispatches of a quickstart SetVAE step): the engine records clone(t) → t so that a
// gradient of a gradient can flow through saved tensors. Inside the outermost tape (gradient
// depth 1) nothing can: the backward pass runs with the tape off, and the clone's node is a dead
// end that only `getFilteredNodesXToY` pays for. So `withSharedClones` also makes those saves a
// plain shared reference (what every backend's Identity returns, without the dispatch or the
// node); in a nested tape (tf.grad of tf.grad) saves go through the engine's own clone.
import {
  engine,
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

/** The parts of tfjs-core's engine a save goes through (not in its public types). */
interface EngineInternals {
  clone(x: Tensor): Tensor;
  state: { gradientDepth: number };
  backend: Partial<RefCounting>;
  makeTensorFromTensorInfo(info: TensorInfo): Tensor;
}

/** Nesting depth of `withSharedClones` (only the outermost call swaps the kernel). */
let depth = 0;

/**
 * Makes the engine's clone for saved tensors skip the dispatch and the tape node inside
 * `withSharedClones` at gradient depth 1 (the shared reference every backend's Identity kernel
 * returns); the engine's own clone everywhere else. Installed once per engine and never removed:
 * adding and deleting a property on every step would put the engine object in V8's slow
 * dictionary mode.
 */
function installTapeFreeClone(internals: EngineInternals): void {
  if (Object.hasOwn(internals, 'clone')) return;
  const original = internals.clone.bind(internals);
  internals.clone = (x) => {
    const backend = internals.backend;
    if (
      depth === 0 ||
      internals.state.gradientDepth !== 1 ||
      x.dtype === 'string' ||
      typeof backend.incRef !== 'function'
    ) {
      return original(x);
    }
    backend.incRef(x.dataId);
    return internals.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
  };
}

/**
 * Runs `f` with clones on tfjs-wasm sharing their data instead of copying it (what tfjs-cpu
 * and tfjs-webgl always do), so that the tensors ops save for their gradients inside `f` cost
 * no copy; on every backend, the saves of a first-order gradient inside `f` are shared
 * references without a kernel dispatch or a tape node. Same values, same tensor counts, the
 * same gradients of gradients.
 */
export function withSharedClones<T>(f: () => T): T {
  if (depth > 0) return f();
  installTapeFreeClone(engine() as unknown as EngineInternals);
  const original = getBackend() === BACKEND ? getKernel(IDENTITY, BACKEND) : undefined;
  if (original) {
    unregisterKernel(IDENTITY, BACKEND);
    registerKernel({ kernelName: IDENTITY, backendName: BACKEND, kernelFunc: sharing(original) });
  }
  depth++;
  try {
    return f();
  } finally {
    depth--;
    if (original) {
      unregisterKernel(IDENTITY, BACKEND);
      registerKernel(original);
    }
  }
}

/** `save(tensors)` of a `customGrad` op through `withSharedClones`: no copies on tfjs-wasm. */
export function saveShared(save: GradSaveFunc, tensors: Tensor[]): void {
  withSharedClones(() => save(tensors));
}
