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
// Where the runtime validates WebAssembly relaxed SIMD (Node >= 22, Chrome >= 114, Node 20 with
// --experimental-wasm-relaxed-simd), a build with fused multiply-adds runs instead (wasm-fma.ts);
// the worker threads then run its shared build, so results stay bit-identical across threads.
import {
  engine,
  getBackend,
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  registerKernel,
  type Tensor,
  type Tensor3D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory, type WasmHeap } from './backend-memory.js';
import {
  BATCH_MATMUL_FMA_IN_PLACE_WASM,
  BATCH_MATMUL_FMA_WASM,
  BATCH_MATMUL_IN_PLACE_WASM,
  BATCH_MATMUL_WASM,
} from './batch-matmul-wasm.js';
import {
  type MatmulKernel,
  runSplit,
  runUnits,
  SPLIT_BATCH,
  SPLIT_BLOCKS,
  SPLIT_ROWS,
  type SplitProduct,
} from './matmul-threads.js';
import { type KernelVariant, reserveMemory, WasmKernel } from './wasm-kernel.js';

const KERNEL_NAME = 'SetgenBatchMatMul';
/** Batch slices are copied into the kernel's memory in chunks of at most this many bytes (default). */
const CHUNK_BYTES = 32 << 20;
/**
 * Aᵀ·B with a longer inner dimension k (a weight gradient: k = rows of a whole batch) runs in
 * blocks of at most this many rows of A and B, summed (default): a tile of C then streams a
 * block of B that stays in cache instead of all k rows (measured [10944,256]ᵀ·[10944,256]:
 * 362 ms whole, 115 ms in blocks of 498; [2736,256]ᵀ·[2736,256]: 32 → 21 ms).
 */
const INNER_BLOCK = 512;

interface KernelExports extends MatmulKernel {
  /** The kernel's own memory (the in-place build computes in the memory it imports instead). */
  memory: WebAssembly.Memory;
}

/** Both builds of both variants, compiled on first use (null where WebAssembly SIMD is unavailable or refused). */
const matmulKernel = new WasmKernel<KernelExports>(BATCH_MATMUL_WASM, BATCH_MATMUL_IN_PLACE_WASM, {
  base64: BATCH_MATMUL_FMA_WASM,
  inPlaceBase64: BATCH_MATMUL_FMA_IN_PLACE_WASM,
});

/**
 * Which matrix product kernel runs now: `'fma'` (fused multiply-adds, WebAssembly relaxed
 * SIMD), `'simd'` (128-bit SIMD, a multiply and an add), or null where neither is available
 * (no WebAssembly SIMD, compilation refused): products then run through tf.matMul.
 */
export function matmulKernelVariant(): KernelVariant | null {
  return matmulKernel.own() ? matmulKernel.variant() : null;
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
  reserveMemory(kernel.memory, 4 * chunk * sliceFloats);
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
 * C[s] = A[s]ᵀ·B[s] for `a [batch, k, n]`, `b [batch, k, m]` with k > `innerBlock`: per slice,
 * blocks of rows p0..p1 of A and B (contiguous in both), C = Σ_blocks A[p0:p1]ᵀ·B[p0:p1].
 */
function multiplyTransposedALong(
  kernel: KernelExports,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  [batch, k, n]: number[],
  m: number,
  innerBlock: number,
): void {
  const rows = Math.ceil(k / Math.ceil(k / innerBlock)); // blocks of equal size
  const [bAt, cAt] = [rows * n, rows * (n + m)]; // floats: A block | B block | C
  reserveMemory(kernel.memory, 4 * (cAt + n * m));
  const heap = new Float32Array(kernel.memory.buffer);
  const product = heap.subarray(cAt, cAt + n * m);
  for (let s = 0; s < batch; s++) {
    const target = out.subarray(s * n * m, (s + 1) * n * m);
    for (let p0 = 0; p0 < k; p0 += rows) {
      const r = Math.min(rows, k - p0);
      heap.set(a.subarray((s * k + p0) * n, (s * k + p0 + r) * n), 0);
      heap.set(b.subarray((s * k + p0) * m, (s * k + p0 + r) * m), bAt);
      kernel.matmul(0, 4 * bAt, 4 * cAt, 1, n, r, m, r * n, 1, n);
      if (p0 === 0) target.set(product);
      else for (let i = 0; i < target.length; i++) target[i] += product[i];
    }
  }
}

/**
 * C = op(A)·op(B) computed where the tensors live, in tfjs-wasm's heap, as `multiply` and
 * `multiplyTransposedALong` compute it in the kernel's own memory (bit-identical): a Bᵀ
 * operand is transposed into scratch space first; a long Aᵀ·B is summed over blocks of rows.
 * Large products are shared with worker threads where there are any (matmul-threads.ts).
 */
function multiplyInPlace(
  kernel: KernelExports,
  heap: WasmHeap,
  [a, b]: TensorInfo[],
  [[batch, ra, ca], [, rb, cb]]: number[][],
  shape: number[],
  outShape: number[],
  transposeA: boolean,
  transposeB: boolean,
  innerBlock: number,
): TensorInfo {
  const [, n, m] = shape;
  const k = transposeA ? ra : ca;
  const blocked = transposeA && !transposeB && ra > innerBlock;
  const scratchBytes = transposeB ? 4 * batch * rb * cb : blocked ? 4 * n * m : 0;
  const scratch = scratchBytes ? heap.malloc(scratchBytes) : 0;
  if (scratchBytes && !scratch) {
    throw new Error(`simdBatchMatMul: out of memory for ${scratchBytes} bytes of scratch space`);
  }
  const out = heap.allocate(outShape);
  try {
    const [aAt, bAt, cAt] = [heap.offset(a), heap.offset(b), heap.offset(out)];
    if (transposeB) kernel.transpose(bAt, scratch, batch, rb, cb);
    const product: Product = {
      kernel,
      variant: matmulKernel.variant(),
      heap,
      aAt,
      bAt: transposeB ? scratch : bAt,
      cAt,
      scratch,
    };
    const split = blocked
      ? blockSplit(product, batch, k, n, m, innerBlock)
      : batch > 1
        ? batchSplit(product, batch, n, k, m, ra * ca, transposeA)
        : rowSplit(product, n, k, m, transposeA);
    if (split && runSplit(split, batch * n * k * m, split)) return out;
    if (blocked) {
      for (let s = 0; s < batch; s++)
        blockProducts({ ...product, cAt: cAt + 4 * s * n * m }, s, k, n, m, innerBlock);
      return out;
    }
    const params = [SPLIT_BATCH, n, k, m, ra * ca, transposeA ? 1 : ca, transposeA ? n : 1, 0];
    runUnits(kernel, params, 0, batch, aAt, product.bAt, cAt);
    return out;
  } finally {
    if (scratch) heap.free(scratch);
  }
}

/** Operands of a product in tfjs-wasm's heap (byte offsets; `bAt` already transposed if Bᵀ). */
interface Product {
  kernel: MatmulKernel;
  /** `kernel`'s variant (worker threads run the same). */
  variant: KernelVariant;
  heap: WasmHeap;
  aAt: number;
  bAt: number;
  cAt: number;
  scratch: number;
}

/** Rows of the blocks of a long Aᵀ·B: blocks of equal size, at most `innerBlock` rows. */
function blockRows(k: number, innerBlock: number): number {
  return Math.ceil(k / Math.ceil(k / innerBlock));
}

/**
 * Slice `s` of a long Aᵀ·B (`a [batch, k, n]`, `b [batch, k, m]`), blocks `first..last` of its
 * inner rows: the first block's product is written to C, the others' are added in order.
 */
function blockProducts(
  { kernel, heap, aAt, bAt, cAt, scratch }: Product,
  s: number,
  k: number,
  n: number,
  m: number,
  innerBlock: number,
  first = 0,
  last = Math.ceil(k / blockRows(k, innerBlock)),
): void {
  const rows = blockRows(k, innerBlock);
  for (let u = first; u < last; u++) {
    const p0 = u * rows;
    const r = Math.min(rows, k - p0);
    const [blockA, blockB] = [aAt + 4 * (s * k + p0) * n, bAt + 4 * (s * k + p0) * m];
    kernel.matmul(blockA, blockB, p0 === 0 ? cAt : scratch, 1, n, r, m, r * n, 1, n);
    if (p0 > 0) addInto(heap, cAt, scratch, n * m);
  }
}

/** C[0..length] += the floats at `from` (both in tfjs-wasm's heap, or `from` in `source`). */
function addInto(heap: WasmHeap, cAt: number, from: number, length: number, source?: Float32Array): void {
  const sum = new Float32Array(heap.memory.buffer, cAt, length);
  const product = source
    ? source.subarray(from, from + length)
    : new Float32Array(heap.memory.buffer, from, length);
  for (let i = 0; i < length; i++) sum[i] += product[i];
}

/** The heap as floats (a fresh view: tfjs may have grown it). */
function floats(heap: WasmHeap): Float32Array {
  return new Float32Array(heap.memory.buffer);
}

/** A long Aᵀ·B of one slice, split into its blocks of inner rows (summed in order either way). */
function blockSplit(
  product: Product,
  batch: number,
  k: number,
  n: number,
  m: number,
  innerBlock: number,
): (SplitProduct & Parameters<typeof runSplit>[2]) | null {
  if (batch !== 1) return null;
  const rows = blockRows(k, innerBlock);
  return {
    params: [SPLIT_BLOCKS, n, k, m, 0, 1, n, rows],
    units: Math.ceil(k / rows),
    unitFloats: [rows * n, rows * m, n * m],
    fixedFloats: [0, 0],
    steps: [rows * n, rows * m, n * m],
    granularity: 1,
    variant: product.variant,
    copyFixed: (_shared, _first, at, bt) => [at, bt],
    copyUnits: (shared, u0, u1, at, bt) => {
      const heap = floats(product.heap);
      const [a0, b0] = [product.aAt / 4, product.bAt / 4];
      const [p0, p1] = [u0 * rows, Math.min(u1 * rows, k)];
      shared.set(heap.subarray(a0 + p0 * n, a0 + p1 * n), at);
      shared.set(heap.subarray(b0 + p0 * m, b0 + p1 * m), bt);
    },
    compute: (u0, u1) => blockProducts(product, 0, k, n, m, innerBlock, u0, u1),
    copyOut: (shared, u0, u1, c) => {
      for (let u = u0; u < u1; u++) addInto(product.heap, product.cAt, c + (u - u0) * n * m, n * m, shared);
    },
  };
}

/** A batched product split into its slices. */
function batchSplit(
  product: Product,
  batch: number,
  n: number,
  k: number,
  m: number,
  sliceA: number,
  transposeA: boolean,
): SplitProduct & Parameters<typeof runSplit>[2] {
  const params = [SPLIT_BATCH, n, k, m, sliceA, transposeA ? 1 : k, transposeA ? n : 1, 0];
  const sliceC = n * m;
  return {
    params,
    units: batch,
    unitFloats: [sliceA, k * m, sliceC],
    fixedFloats: [0, 0],
    steps: [sliceA, k * m, sliceC],
    granularity: 1,
    variant: product.variant,
    copyFixed: (_shared, _first, at, bt) => [at, bt],
    copyUnits: (shared, u0, u1, at, bt) => {
      const heap = floats(product.heap);
      const [a0, b0] = [product.aAt / 4, product.bAt / 4];
      shared.set(heap.subarray(a0 + u0 * sliceA, a0 + u1 * sliceA), at);
      shared.set(heap.subarray(b0 + u0 * k * m, b0 + u1 * k * m), bt);
    },
    compute: (u0, u1) =>
      runUnits(
        product.kernel,
        params,
        u0,
        u1,
        product.aAt + 4 * u0 * sliceA,
        product.bAt + 4 * u0 * k * m,
        product.cAt + 4 * u0 * sliceC,
      ),
    copyOut: (shared, u0, u1, c) =>
      floats(product.heap).set(shared.subarray(c, c + (u1 - u0) * sliceC), product.cAt / 4 + u0 * sliceC),
  };
}

/** One slice's product split into blocks of rows of C (A's rows, or A's columns for Aᵀ). */
function rowSplit(
  product: Product,
  n: number,
  k: number,
  m: number,
  transposeA: boolean,
): SplitProduct & Parameters<typeof runSplit>[2] {
  // a row of C is a row of A (stride k) or, for Aᵀ, a column of A (stride 1: all of A is copied)
  const rowStep = transposeA ? 1 : k;
  const params = [SPLIT_ROWS, n, k, m, n * k, rowStep, transposeA ? n : 1, 0];
  return {
    params,
    units: n,
    unitFloats: transposeA ? [0, 0, m] : [k, 0, m],
    fixedFloats: transposeA ? [n * k, k * m] : [0, k * m],
    steps: [rowStep, 0, m],
    granularity: 4,
    variant: product.variant,
    copyFixed: (shared, first, at, bt) => {
      const heap = floats(product.heap);
      const [a0, b0] = [product.aAt / 4, product.bAt / 4];
      if (transposeA) shared.set(heap.subarray(a0, a0 + n * k), at);
      shared.set(heap.subarray(b0, b0 + k * m), bt);
      return [transposeA ? at + first : at, bt];
    },
    copyUnits: (shared, u0, u1, at) => {
      if (transposeA) return; // all of A is copied already
      const a0 = product.aAt / 4;
      shared.set(floats(product.heap).subarray(a0 + u0 * k, a0 + u1 * k), at);
    },
    compute: (u0, u1) =>
      runUnits(
        product.kernel,
        params,
        u0,
        u1,
        product.aAt + 4 * u0 * rowStep,
        product.bAt,
        product.cAt + 4 * u0 * m,
      ),
    copyOut: (shared, u0, u1, c) =>
      floats(product.heap).set(shared.subarray(c, c + (u1 - u0) * m), product.cAt / 4 + u0 * m),
  };
}

interface KernelAttrs {
  transposeA: boolean;
  transposeB: boolean;
  chunkBytes: number;
  innerBlock: number;
  /** `[aView, bView, outShape]`: the operands read as these 3-D shapes, the product made in `outShape` (no reshapes). */
  views?: number[][];
}

function register(backendName: string, memory: TensorMemory): void {
  registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
      const backend = anyBackend as KernelBackend;
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB, chunkBytes, innerBlock, views } = attrs as unknown as KernelAttrs;
      const [aShape, bShape] = views ? [views[0], views[1]] : [a.shape, b.shape];
      const [batch, ra, ca] = aShape;
      const [, rb, cb] = bShape;
      const shape = [batch, transposeA ? ca : ra, transposeB ? rb : cb];
      const outShape = views ? views[2] : shape;
      const heap = aShape.includes(0) || bShape.includes(0) ? null : (memory.heap?.(backend) ?? null);
      const inPlace = heap ? matmulKernel.inPlace(heap.memory) : null;
      if (heap && inPlace) {
        return multiplyInPlace(
          inPlace,
          heap,
          [a, b],
          [aShape, bShape],
          shape,
          outShape,
          transposeA,
          transposeB,
          innerBlock,
        );
      }
      // the variant the setting selects now (simdBatchMatMulViews checked that it compiles)
      const kernel = matmulKernel.own() as KernelExports;
      // inputs are read after the output exists: allocating it may move wasm's heap
      return memory.write(backend, outShape, (out) => {
        const [va, vb] = [memory.read(backend, a), memory.read(backend, b)];
        if (transposeA && !transposeB && ra > innerBlock) {
          multiplyTransposedALong(kernel, va, vb, out, aShape, cb, innerBlock);
        } else multiply(kernel, va, vb, out, aShape, [rb, cb], transposeA, transposeB, chunkBytes);
      });
    },
  });
}

/** Whether `simdBatchMatMul` runs on the active backend (wasm or cpu, with WebAssembly SIMD). */
export function simdBatchMatMulAvailable(): boolean {
  return tensorMemory(getBackend()) !== null && matmulKernel.own() !== null;
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
  innerBlock = INNER_BLOCK,
): Tensor3D {
  return simdBatchMatMulViews(
    a,
    b,
    [a.shape, b.shape, null],
    transposeA,
    transposeB,
    chunkBytes,
    innerBlock,
  ) as Tensor3D;
}

/**
 * `simdBatchMatMul` of `a` and `b` read as the 3-D shapes `aView`, `bView` (same sizes, row-major:
 * a view is what a reshape would give, without the op), the product made in `outShape` (null:
 * its 3-D shape). No gradient: callers wrap it.
 */
export function simdBatchMatMulViews(
  a: Tensor,
  b: Tensor,
  [aView, bView, outShape]: [number[], number[], number[] | null],
  transposeA: boolean,
  transposeB: boolean,
  chunkBytes = CHUNK_BYTES,
  innerBlock = INNER_BLOCK,
): Tensor {
  const backendName = getBackend();
  const kernel = matmulKernel.own();
  const memory = tensorMemory(backendName);
  if (!kernel || !memory) throw new Error(`simdBatchMatMul: not available on the ${backendName} backend`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`simdBatchMatMul: expected float32 operands, got ${a.dtype} and ${b.dtype}`);
  }
  if (!getKernel(KERNEL_NAME, backendName)) register(backendName, memory);
  const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
  if (size(aView) !== a.size || size(bView) !== b.size) {
    throw new Error(
      `simdBatchMatMulViews: views [${aView}], [${bView}] do not fit [${a.shape}], [${b.shape}]`,
    );
  }
  const attrs: NamedAttrMap = { transposeA, transposeB, chunkBytes, innerBlock };
  const sameShapes = outShape === null && aView === a.shape && bView === b.shape;
  if (!sameShapes) {
    const product = [aView[0], transposeA ? aView[2] : aView[1], transposeB ? bView[1] : bView[2]];
    attrs.views = [aView, bView, outShape ?? product];
  }
  return engine().runKernel(KERNEL_NAME, { a, b }, attrs) as Tensor;
}
