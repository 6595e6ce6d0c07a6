// Our own batched matrix product kernel for the wasm and cpu backends. tfjs-wasm runs a
// batched or transposed BatchMatMul through a scalar fallback (~3 GFLOP/s) and the cpu
// backend through plain JavaScript; this kernel (wasm/batch-matmul.wat.mjs, SIMD) runs
// [256,150,16]·[256,16,32] about 11× faster than tfjs-wasm there (30–40 GFLOP/s on one core).
// It is registered under its own kernel name, on first use, for the backends whose tensor
// memory it can read directly; elsewhere callers use tf.matMul. On tfjs-wasm a second build
// of the module imports the backend's own memory and computes in place (the operands are
// not copied in and the product is not copied out: a quarter of the time of a [1152,64]·[64,64]
// product); on cpu, or when that memory cannot be imported, the operands are copied into the
// kernel's memory. It has no gradient of its own: callers wrap it in `customGrad`.
import {
  engine,
  getBackend,
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  registerKernel,
  type Tensor3D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory, type WasmHeap } from './backend-memory.js';
import { BATCH_MATMUL_IN_PLACE_WASM, BATCH_MATMUL_WASM } from './batch-matmul-wasm.js';

const KERNEL_NAME = 'SetgenBatchMatMul';
/** Batch slices are copied into the kernel's memory in chunks of at most this many bytes (default). */
const CHUNK_BYTES = 32 << 20;
const PAGE_BYTES = 1 << 16;

interface KernelExports {
  /** The kernel's own memory (the in-place build computes in the memory it imports instead). */
  memory: WebAssembly.Memory;
  matmul(
    a: number,
    b: number,
    c: number,
    batch: number,
    n: number,
    k: number,
    m: number,
    batchStrideA: number,
    rowStrideA: number,
    colStrideA: number,
  ): void;
  transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

/** Instantiated on first use; null where WebAssembly SIMD is unavailable. */
let instance: KernelExports | null | undefined;

function kernelInstance(): KernelExports | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly !== 'object') return instance;
  const binary = Uint8Array.from(atob(BATCH_MATMUL_WASM), (c) => c.charCodeAt(0));
  if (!WebAssembly.validate(binary)) return instance; // no SIMD
  try {
    // ~1.7 kB: small enough for synchronous compilation on a browser's main thread
    instance = new WebAssembly.Instance(new WebAssembly.Module(binary)).exports as unknown as KernelExports;
  } catch {
    // compilation refused (a Content-Security-Policy without 'wasm-unsafe-eval'): tf.matMul then
  }
  return instance;
}

/** The in-place builds, one per imported memory; null where the import is refused (e.g. a shared memory). */
const inPlaceInstances = new WeakMap<WebAssembly.Memory, KernelExports | null>();

function inPlaceInstance(memory: WebAssembly.Memory): KernelExports | null {
  let kernel = inPlaceInstances.get(memory);
  if (kernel !== undefined) return kernel;
  kernel = null;
  try {
    const binary = Uint8Array.from(atob(BATCH_MATMUL_IN_PLACE_WASM), (c) => c.charCodeAt(0));
    const module = new WebAssembly.Module(binary);
    kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  } catch {
    // the copying kernel then
  }
  inPlaceInstances.set(memory, kernel);
  return kernel;
}

/** Grows the kernel's memory to at least `bytes`. */
function reserve(kernel: KernelExports, bytes: number): void {
  const missing = bytes - kernel.memory.buffer.byteLength;
  if (missing > 0) kernel.memory.grow(Math.ceil(missing / PAGE_BYTES));
}

/**
 * C = op(A)·op(B) for `a [batch, ra, ca]`, `b [batch, rb, cb]` (float32, inner sizes checked
 * by the caller), computed slice by slice in the kernel's memory, chunks of slices at a time.
 */
function multiply(
  kernel: KernelExports,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  [batch, ra, ca]: number[],
  [rb, cb]: number[],
  transposeA: boolean,
  transposeB: boolean,
  chunkBytes: number,
): void {
  const n = transposeA ? ca : ra;
  const k = transposeA ? ra : ca;
  const m = transposeB ? rb : cb;
  const sliceA = ra * ca;
  const sliceB = rb * cb;
  const sliceC = n * m;
  const sliceFloats = sliceA + sliceB * (transposeB ? 2 : 1) + sliceC;
  const chunk = Math.max(1, Math.min(batch, Math.floor(chunkBytes / (4 * sliceFloats))));
  reserve(kernel, 4 * chunk * sliceFloats);
  for (let first = 0; first < batch; first += chunk) {
    const count = Math.min(chunk, batch - first);
    // layout in the kernel's memory (bytes): A | B | [Bᵀ] | C
    const aAt = 0;
    const bAt = aAt + 4 * count * sliceA;
    const btAt = bAt + 4 * count * sliceB;
    const cAt = btAt + (transposeB ? 4 * count * sliceB : 0);
    const heap = new Float32Array(kernel.memory.buffer);
    heap.set(a.subarray(first * sliceA, (first + count) * sliceA), aAt / 4);
    heap.set(b.subarray(first * sliceB, (first + count) * sliceB), bAt / 4);
    if (transposeB) kernel.transpose(bAt, btAt, count, rb, cb);
    kernel.matmul(
      aAt,
      transposeB ? btAt : bAt,
      cAt,
      count,
      n,
      k,
      m,
      sliceA,
      transposeA ? 1 : ca,
      transposeA ? n : 1,
    );
    out.set(heap.subarray(cAt / 4, cAt / 4 + count * sliceC), first * sliceC);
  }
}

/**
 * C = op(A)·op(B) computed where the tensors live, in tfjs-wasm's heap: a Bᵀ operand is
 * transposed into scratch space first, as in the kernel's own memory.
 */
function multiplyInPlace(
  kernel: KernelExports,
  heap: WasmHeap,
  a: TensorInfo,
  b: TensorInfo,
  shape: number[],
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const [batch, ra, ca] = a.shape;
  const [, rb, cb] = b.shape;
  const [, n, m] = shape;
  const scratch = transposeB ? heap.malloc(4 * batch * rb * cb) : 0;
  if (transposeB && !scratch) {
    throw new Error(`simdBatchMatMul: out of memory for a ${batch}×${rb}×${cb} transpose`);
  }
  const out = heap.allocate(shape);
  try {
    if (transposeB) kernel.transpose(heap.offset(b), scratch, batch, rb, cb);
    kernel.matmul(
      heap.offset(a),
      transposeB ? scratch : heap.offset(b),
      heap.offset(out),
      batch,
      n,
      transposeA ? ra : ca,
      m,
      ra * ca,
      transposeA ? 1 : ca,
      transposeA ? n : 1,
    );
  } finally {
    if (transposeB) heap.free(scratch);
  }
  return out;
}

interface KernelAttrs {
  transposeA: boolean;
  transposeB: boolean;
  chunkBytes: number;
}

function register(backendName: string, memory: TensorMemory, kernel: KernelExports): void {
  registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
      const backend = anyBackend as KernelBackend;
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB, chunkBytes } = attrs as unknown as KernelAttrs;
      const [batch, ra, ca] = a.shape;
      const [, rb, cb] = b.shape;
      const shape = [batch, transposeA ? ca : ra, transposeB ? rb : cb];
      const heap = a.shape.includes(0) || b.shape.includes(0) ? null : (memory.heap?.(backend) ?? null);
      const inPlace = heap ? inPlaceInstance(heap.memory) : null;
      if (heap && inPlace) return multiplyInPlace(inPlace, heap, a, b, shape, transposeA, transposeB);
      // inputs are read after the output exists: allocating it may move wasm's heap
      return memory.write(backend, shape, (out) =>
        multiply(
          kernel,
          memory.read(backend, a),
          memory.read(backend, b),
          out,
          a.shape,
          [rb, cb],
          transposeA,
          transposeB,
          chunkBytes,
        ),
      );
    },
  });
}

/** Whether `simdBatchMatMul` runs on the active backend (wasm or cpu, with WebAssembly SIMD). */
export function simdBatchMatMulAvailable(): boolean {
  return tensorMemory(getBackend()) !== null && kernelInstance() !== null;
}

/**
 * `op(a)·op(b)` for float32 `a [B, ., .]`, `b [B, ., .]` with matching inner sizes, through
 * the SIMD kernel; only where `simdBatchMatMulAvailable()`. No gradient: callers wrap it.
 */
export function simdBatchMatMul(
  a: Tensor3D,
  b: Tensor3D,
  transposeA: boolean,
  transposeB: boolean,
  chunkBytes = CHUNK_BYTES,
): Tensor3D {
  const backendName = getBackend();
  const kernel = kernelInstance();
  const memory = tensorMemory(backendName);
  if (!kernel || !memory) throw new Error(`simdBatchMatMul: not available on the ${backendName} backend`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`simdBatchMatMul: expected float32 operands, got ${a.dtype} and ${b.dtype}`);
  }
  if (!getKernel(KERNEL_NAME, backendName)) register(backendName, memory, kernel);
  const attrs: NamedAttrMap = { transposeA, transposeB, chunkBytes };
  return engine().runKernel(KERNEL_NAME, { a, b }, attrs) as Tensor3D;
}
