// Direct access to the float32 tensor memory of the wasm and cpu backends, for the kernels
// @setgen registers there (batch-matmul-kernel.ts, split-rows.ts). Reading goes through a
// view, never a copy (tfjs-wasm's own readSync copies the whole tensor, which is what makes
// its Slice and SplitV cost O(input) per piece).
import type { BackendValues, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** How a backend exposes its float32 tensor memory. */
export interface TensorMemory {
  /** A view of `t`'s values; on wasm it is invalidated by the next allocation. */
  read(backend: KernelBackend, t: TensorInfo): Float32Array;
  /** A new float32 tensor of `shape`, filled by `fill` through a view. */
  write(backend: KernelBackend, shape: number[], fill: (out: Float32Array) => void): TensorInfo;
  /** tfjs-wasm only: its WebAssembly heap, for kernels that compute in place (null elsewhere). */
  heap?(backend: KernelBackend): WasmHeap | null;
}

/** The heap of tfjs-wasm, addressed in bytes (offsets stay valid when the heap grows). */
export interface WasmHeap {
  memory: WebAssembly.Memory;
  /** Byte offset of `t`'s values. */
  offset(t: TensorInfo): number;
  /** A new float32 tensor of `shape`, its values not yet written. */
  allocate(shape: number[]): TensorInfo;
  /** Scratch space of `bytes` bytes, freed by `free`. */
  malloc(bytes: number): number;
  free(offset: number): void;
}

interface WasmBackendLike extends KernelBackend {
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
  wasm?: {
    asm?: { memory?: unknown };
    _malloc(bytes: number): number;
    _free(offset: number): void;
  };
}
interface CpuBackendLike extends KernelBackend {
  makeTensorInfo(shape: number[], dtype: 'float32', values: BackendValues): TensorInfo;
}

/** tfjs-wasm's heap per backend instance (null is not kept: the backend may not be initialised yet). */
const heaps = new WeakMap<KernelBackend, WasmHeap>();

const TENSOR_MEMORY: Record<string, TensorMemory> = {
  wasm: {
    read: (backend, t) => (backend as WasmBackendLike).typedArrayFromHeap(t),
    write: (backend, shape, fill) => {
      const out = (backend as WasmBackendLike).makeOutput(shape, 'float32');
      fill((backend as WasmBackendLike).typedArrayFromHeap(out));
      return out;
    },
    heap: (anyBackend) => {
      // one object per backend: every in-place kernel call asks for it (the Memory object
      // itself stays the same when the heap grows; offsets are looked up at each call)
      const known = heaps.get(anyBackend);
      if (known) return known;
      const backend = anyBackend as WasmBackendLike;
      const wasm = backend.wasm;
      const memory = wasm?.asm?.memory;
      if (!wasm || !(memory instanceof WebAssembly.Memory) || !backend.dataIdMap) return null;
      const heap: WasmHeap = {
        memory,
        offset: (t) => backend.dataIdMap.get(t.dataId)!.memoryOffset,
        allocate: (shape) => backend.makeOutput(shape, 'float32'),
        // emscripten's _malloc returns a signed i32: addresses from 2 GB on come back negative
        malloc: (bytes) => wasm._malloc(bytes) >>> 0,
        free: (offset) => wasm._free(offset),
      };
      heaps.set(anyBackend, heap);
      return heap;
    },
  },
  cpu: {
    read: (backend, t) => backend.readSync(t.dataId) as Float32Array,
    write: (backend, shape, fill) => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      fill(values);
      return (backend as CpuBackendLike).makeTensorInfo(shape, 'float32', values);
    },
  },
};

/** The memory access of backend `name`, or null for backends whose memory we cannot read. */
export function tensorMemory(name: string): TensorMemory | null {
  return Object.hasOwn(TENSOR_MEMORY, name) ? TENSOR_MEMORY[name] : null;
}
