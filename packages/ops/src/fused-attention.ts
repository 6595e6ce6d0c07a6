// Fused multi-head softmax attention for the wasm and cpu backends, forward only: for each
// block of query rows the scores q·kᵀ, an online softmax (running max and sum) and the
// weighted sum of v in one pass (wasm/fused-attention.wat.mjs, SIMD), so the [B·H, Nq, Nk]
// attention maps are never written to memory. Unfused, the maps are what the forward spends
// its time on: for self-attention over 2048 points each product and the softmax write and
// re-read them (≈ 4 GB for B = 16, H = 4). It has no gradient: callers use it only when no
// gradient tape is recording (`engine().isTapeOn()` false: inference, sampling, metrics).
import {
  cast,
  engine,
  env,
  getBackend,
  getKernel,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  registerKernel,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  type TensorInfo,
  zeros,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { ConfigError, DataError, formatShape, ShapeError } from './errors.js';
import {
  FUSED_ATTENTION_FMA_IN_PLACE_WASM,
  FUSED_ATTENTION_FMA_WASM,
  FUSED_ATTENTION_IN_PLACE_WASM,
  FUSED_ATTENTION_WASM,
} from './fused-attention-wasm.js';
import { type KernelVariant, reserveMemory, WasmKernel } from './wasm-kernel.js';

const KERNEL_NAME = 'SetgenFusedAttention';
/**
 * The tfjs flag that switches the fused path off (default on): `tf.env().set(FUSED_ATTENTION_FLAG,
 * false)` makes `fusedAttentionAvailable` false, so callers take their unfused ops (to compare).
 */
export const FUSED_ATTENTION_FLAG = 'SETGEN_FUSED_ATTENTION';

// registered once per tfjs instance (a second copy of this module must not warn)
if (!(env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry?.[FUSED_ATTENTION_FLAG]) {
  env().registerFlag(FUSED_ATTENTION_FLAG, () => true);
}
/** Batch elements are copied into the kernel's own memory in chunks of at most this many bytes. */
const CHUNK_BYTES = 32 << 20;

interface AttentionExports {
  memory: WebAssembly.Memory;
  attention(
    q: number,
    k: number,
    v: number,
    out: number,
    qMask: number,
    kMask: number,
    batch: number,
    heads: number,
    nq: number,
    nk: number,
    d: number,
    qStride: number,
    kStride: number,
    vStride: number,
    oStride: number,
    scale: number,
    scratch: number,
  ): void;
  scratchBytes(nk: number, d: number): number;
}

/** Plain SIMD and FMA (relaxed SIMD) builds; the FMA one where the setting selects it (wasm-fma.ts). */
const kernel = new WasmKernel<AttentionExports>(FUSED_ATTENTION_WASM, FUSED_ATTENTION_IN_PLACE_WASM, {
  base64: FUSED_ATTENTION_FMA_WASM,
  inPlaceBase64: FUSED_ATTENTION_FMA_IN_PLACE_WASM,
});

/** Which attention kernel runs now: 'fma' (relaxed SIMD), 'simd', or null where neither is available. */
export function fusedAttentionVariant(): KernelVariant | null {
  return kernel.own() ? kernel.variant() : null;
}

/** Options of `fusedSoftmaxAttention`. */
export interface FusedAttentionOptions {
  numHeads: number;
  /** Multiplies q (before the product, as an unfused `mul(q, scale)` would). */
  scale: number;
  /** `[B, Nq]`: rows of padded queries (mask ≤ 0.5 or NaN) are zero. */
  queryMask?: Tensor2D | null;
  /** `[B, Nk]`: padded keys (mask ≤ 0.5 or NaN) get no weight and are never read; no valid key → zeros. */
  keyMask?: Tensor2D | null;
  /** Where the operands are copied (cpu): batch elements in chunks of at most this many bytes (for tests). */
  chunkBytes?: number;
}

interface Attrs {
  numHeads: number;
  scale: number;
  chunkBytes: number;
}

/**
 * Whether `fusedSoftmaxAttention` runs now on the active backend (wasm or cpu, WebAssembly
 * SIMD compiled) for `units` features in `numHeads` heads (units/numHeads a multiple of 4), and
 * `FUSED_ATTENTION_FLAG` is not false.
 */
export function fusedAttentionAvailable(units: number, numHeads: number): boolean {
  const d = units / numHeads;
  return (
    Number.isInteger(d) &&
    d % 4 === 0 &&
    env().getBool(FUSED_ATTENTION_FLAG) &&
    tensorMemory(getBackend()) !== null &&
    kernel.own() !== null
  );
}

/** Resolves when the kernel is compiled (in browsers it may compile in the background): whether it is available. */
export function fusedAttentionReady(): Promise<boolean> {
  return kernel.ready();
}

/** One run of the kernel over `batch` elements at byte offsets in `exports`' memory. */
function run(
  exports: AttentionExports,
  [q, k, v, out, qMask, kMask, scratch]: number[],
  [batch, nq, nk, units]: number[],
  { numHeads, scale }: Attrs,
): void {
  const d = units / numHeads;
  exports.attention(
    q,
    k,
    v,
    out,
    qMask,
    kMask,
    batch,
    numHeads,
    nq,
    nk,
    d,
    units,
    units,
    units,
    units,
    scale,
    scratch,
  );
}

function inPlace(
  exports: AttentionExports,
  backend: KernelBackend,
  memory: TensorMemory,
  [q, k, v, qMask, kMask]: (TensorInfo | undefined)[],
  attrs: Attrs,
): TensorInfo {
  const heap = memory.heap!(backend)!;
  const [batch, nq, units] = q!.shape;
  const nk = k!.shape[1];
  const bytes = exports.scratchBytes(nk, units / attrs.numHeads) + 16;
  const scratch = heap.malloc(bytes);
  if (!scratch) throw new Error(`fusedSoftmaxAttention: out of memory for ${bytes} bytes of scratch space`);
  try {
    const out = heap.allocate([batch, nq, units]);
    const at = (t: TensorInfo | undefined) => (t ? heap.offset(t) : 0);
    const offsets = [at(q), at(k), at(v), at(out), at(qMask), at(kMask), (scratch + 15) & ~15];
    run(exports, offsets, [batch, nq, nk, units], attrs);
    return out;
  } finally {
    heap.free(scratch);
  }
}

/** The same computation in the kernel's own memory: operands copied in, chunks of batch elements. */
function copying(
  exports: AttentionExports,
  backend: KernelBackend,
  memory: TensorMemory,
  inputs: (TensorInfo | undefined)[],
  attrs: Attrs,
): TensorInfo {
  const [q, k] = inputs as TensorInfo[];
  const [batch, nq, units] = q.shape;
  const nk = k.shape[1];
  // floats per batch element of q, k, v, qMask, kMask and out
  const sizes = [nq * units, nk * units, nk * units, nq, nk, nq * units];
  const perElement = 4 * sizes.reduce((a, b) => a + b, 0);
  const chunk = Math.max(1, Math.min(batch, Math.floor(attrs.chunkBytes / perElement)));
  const scratchBytes = exports.scratchBytes(nk, units / attrs.numHeads);
  return memory.write(backend, [batch, nq, units], (result) => {
    // views after the output exists: allocating it may move wasm's heap
    const values = inputs.map((t) => (t ? memory.read(backend, t) : null));
    const offsets: number[] = [];
    let end = 16; // offset 0 means "no mask"
    for (const size of sizes) {
      offsets.push(end);
      end += 4 * chunk * size;
    }
    end = (end + 15) & ~15;
    reserveMemory(exports.memory, end + scratchBytes);
    const heap = new Float32Array(exports.memory.buffer);
    for (let first = 0; first < batch; first += chunk) {
      const count = Math.min(chunk, batch - first);
      values.forEach((t, i) => {
        if (t) heap.set(t.subarray(first * sizes[i], (first + count) * sizes[i]), offsets[i] / 4);
      });
      const [oq, ok, ov, oqm, okm, oout] = offsets;
      const qm = values[3] ? oqm : 0;
      const km = values[4] ? okm : 0;
      run(exports, [oq, ok, ov, oout, qm, km, end], [count, nq, nk, units], attrs);
      result.set(heap.subarray(oout / 4, oout / 4 + count * sizes[5]), first * sizes[5]);
    }
  });
}

/** The kernel function on a backend whose tensors `memory` reads: in place on tfjs-wasm's heap, else copying. */
function kernelFunction(memory: TensorMemory): KernelFunc {
  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as KernelBackend;
    const { q, k, v, queryMask, keyMask } = inputs as Record<string, TensorInfo | undefined>;
    const operands = [q, k, v, queryMask, keyMask];
    const heap = memory.heap?.(backend) ?? null;
    const exports = heap ? kernel.inPlace(heap.memory) : null;
    const typed = attrs as unknown as Attrs;
    if (exports) return inPlace(exports, backend, memory, operands, typed);
    return copying(kernel.own()!, backend, memory, operands, typed);
  };
}

/** Checks that a `[B, N]` mask fits its set (before any tensor work). */
function checkMask(mask: Tensor2D | null | undefined, set: Tensor3D, name: string): void {
  if (mask && (mask.rank !== 2 || mask.shape[0] !== set.shape[0] || mask.shape[1] !== set.shape[1])) {
    throw new ShapeError(
      `fusedSoftmaxAttention: ${name} must be [${set.shape[0]}, ${set.shape[1]}], got ${formatShape(mask.shape)}`,
    );
  }
}

/** A mask as float32 (a new tensor only when it must be cast). */
function maskOperand(mask: Tensor2D | null | undefined): Tensor | null {
  if (!mask) return null;
  return mask.dtype === 'float32' ? mask : cast(mask, 'float32');
}

/**
 * Multi-head softmax attention `[B, Nq, U]` of `q [B, Nq, U]`, `k, v [B, Nk, U]` (float32;
 * head h = features [h·d, (h+1)·d), d = U/H): per head softmax over the valid keys of
 * `scale·q_h·k_hᵀ`, times `v_h`; heads side by side. Padded keys are never read (NaN there
 * cannot leak); padded query rows and rows without a valid key are zero. Forward only (no
 * gradient); only where `fusedAttentionAvailable(U, H)`.
 */
export function fusedSoftmaxAttention(
  q: Tensor3D,
  k: Tensor3D,
  v: Tensor3D,
  { numHeads, scale, queryMask = null, keyMask = null, chunkBytes = CHUNK_BYTES }: FusedAttentionOptions,
): Tensor3D {
  const [batch, , units] = q.shape;
  if (
    k.rank !== 3 ||
    v.rank !== 3 ||
    k.shape[0] !== batch ||
    v.shape[0] !== batch ||
    k.shape[2] !== units ||
    v.shape[2] !== units ||
    v.shape[1] !== k.shape[1]
  ) {
    throw new ShapeError(
      `fusedSoftmaxAttention: expected q [B,Nq,U], k and v [B,Nk,U], got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  }
  const backendName = getBackend();
  const memory = tensorMemory(backendName);
  if (!memory || !fusedAttentionAvailable(units, numHeads)) {
    throw new ConfigError(
      `fusedSoftmaxAttention: not available on the ${backendName} backend for ${units} units in ${numHeads} heads`,
    );
  }
  if ([q, k, v].some((t) => t.dtype !== 'float32')) {
    throw new DataError(
      `fusedSoftmaxAttention: expected float32 q, k and v, got ${q.dtype}, ${k.dtype}, ${v.dtype}`,
    );
  }
  checkMask(queryMask, q, 'queryMask');
  checkMask(keyMask, k, 'keyMask');
  // an empty axis: nothing to attend to or nothing attending (rows without a valid key are zeros)
  if (q.size === 0 || k.shape[1] === 0) return zeros([batch, q.shape[1], units]);
  if (!getKernel(KERNEL_NAME, backendName)) {
    registerKernel({ kernelName: KERNEL_NAME, backendName, kernelFunc: kernelFunction(memory) });
  }
  const qm = maskOperand(queryMask);
  const km = maskOperand(keyMask);
  try {
    const inputs: Record<string, Tensor> = { q, k, v };
    if (qm) inputs.queryMask = qm;
    if (km) inputs.keyMask = km;
    const attrs: NamedAttrMap = { numHeads, scale, chunkBytes };
    return engine().runKernel(KERNEL_NAME, inputs, attrs) as Tensor3D;
  } finally {
    // the float32 copies of masks of another dtype, also when the kernel fails
    if (qm && qm !== queryMask) qm.dispose();
    if (km && km !== keyMask) km.dispose();
  }
}
