// Swapping the two middle axes of a tensor read as `[A, B, C, D]` → `[A, C, B, D]`, made in any
// shape of that size: the split and merge of attention heads ([B, N, H·d] ↔ [B·H, N, d]) as ONE
// op. Through tfjs ops they are reshape, transpose, reshape in each pass, three dispatches where
// the per-op cost of the engine is most of a small model's step. On wasm and cpu it is one
// kernel: for float32 a SIMD loop that copies the D-element rows whole
// (wasm/swap-axes.wat.mjs; in place on tfjs-wasm's heap, through its own memory on cpu: ≈ 6×
// faster than tfjs-wasm's Transpose for a [128, 9, 64] head split), otherwise the backend's own
// Transpose handed a view of the input (its shape is an attribute, not a reshape op); elsewhere
// the three ops run. Its gradient is the same op with B and C exchanged, so it is
// differentiable to any order.
import {
  engine,
  getBackend,
  getGradient,
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  registerGradient,
  registerKernel,
  reshape,
  type Tensor,
  type TensorInfo,
  tidy,
  transpose,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { formatShape, ShapeError } from './errors.js';
import { SWAP_AXES_IN_PLACE_WASM, SWAP_AXES_WASM } from './swap-axes-wasm.js';
import { runOnTensors, WasmKernel } from './wasm-kernel.js';

const KERNEL_NAME = 'SetgenSwapMiddleAxes';
const BACKENDS = ['wasm', 'cpu'];

interface SwapAttrs {
  /** `[A, B, C, D]`: how the input is read. */
  view: number[];
  /** The output's shape (A·C·B·D elements). */
  outShape: number[];
  /** The input's shape (the gradient's output shape: nothing is saved for the backward pass). */
  inShape: number[];
}

interface SwapExports {
  memory: WebAssembly.Memory;
  swap(x: number, y: number, a: number, b: number, c: number, d: number): void;
}

const kernel = new WasmKernel<SwapExports>(SWAP_AXES_WASM, SWAP_AXES_IN_PLACE_WASM);

/** The swap by the SIMD kernel (float32; null for other dtypes or where the kernel is unavailable). */
function swapRows(
  memory: TensorMemory | null,
  backend: KernelBackend,
  x: TensorInfo,
  view: number[],
  outShape: number[],
): TensorInfo | null {
  if (!memory || x.dtype !== 'float32' || !kernel.own()) return null;
  const [a, b, c, d] = view;
  return runOnTensors(kernel, memory, backend, [x], [outShape], (k, [from], [to]) =>
    k.swap(from, to, a, b, c, d),
  )[0];
}

function register(backendName: string): void {
  const transposeKernel = getKernel('Transpose', backendName);
  if (!transposeKernel) return;
  const memory = tensorMemory(backendName);
  registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: TensorInfo };
      const { view, outShape } = attrs as unknown as SwapAttrs;
      const swapped = swapRows(memory, backend as KernelBackend, x, view, outShape);
      if (swapped) return swapped;
      const viewed: TensorInfo = { dataId: x.dataId, shape: view, dtype: x.dtype };
      const out = transposeKernel.kernelFunc({
        inputs: { x: viewed },
        attrs: { perm: [0, 2, 1, 3] },
        backend: backend as KernelBackend,
      }) as TensorInfo;
      return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
    },
  });
  if (!getGradient(KERNEL_NAME)) {
    registerGradient({
      kernelName: KERNEL_NAME,
      inputsToSave: [],
      gradFunc: (dy, _saved, attrs) => {
        const { view, inShape } = attrs as unknown as SwapAttrs;
        const [a, b, c, d] = view;
        return { x: () => swapMiddleAxes(dy as Tensor, [a, c, b, d], inShape) };
      },
    });
  }
}

/**
 * `x` read as `view = [A, B, C, D]` (row-major, what a reshape would give), its axes B and C
 * swapped, made in `outShape` (A·C·B·D elements; default `[A, C, B, D]`). Differentiable.
 */
export function swapMiddleAxes<T extends Tensor>(x: Tensor, view: number[], outShape?: number[]): T {
  const [a, b, c, d] = view;
  const shape = outShape ?? [a, c, b, d];
  const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
  if (view.length !== 4 || size(view) !== x.size || size(shape) !== x.size) {
    throw new ShapeError(
      `swapMiddleAxes: view ${formatShape(view)} (expected 4 axes) and output ${formatShape(shape)} must have the size of x ${formatShape(x.shape)}`,
    );
  }
  const backendName = getBackend();
  if (BACKENDS.includes(backendName)) {
    if (!getKernel(KERNEL_NAME, backendName)) register(backendName);
    if (getKernel(KERNEL_NAME, backendName)) {
      const attrs: NamedAttrMap = { view, outShape: shape, inShape: [...x.shape] };
      return engine().runKernel(KERNEL_NAME, { x }, attrs) as T;
    }
  }
  return tidy(() => reshape(transpose(reshape(x, view), [0, 2, 1, 3]), shape)) as T;
}
