// Tensor helpers that every floor needs and that the wasm backend gets wrong or slow
// (TOOLCHAIN.md §3–4): a matmul that is fast in both passes (our SIMD kernel on wasm and
// cpu, 2-D products elsewhere), and a row gather whose gradient needs no UnsortedSegmentSum.
import {
  customGrad,
  type GradSaveFunc,
  gather,
  matMul,
  reshape,
  scatterND,
  stack,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  tensor1d,
  tidy,
  transpose,
  unstack,
  zeros,
} from '@tensorflow/tfjs-core';
import { simdBatchMatMulAvailable, simdBatchMatMulViews } from './batch-matmul-kernel.js';
import { DataError, formatShape, ShapeError } from './errors.js';
import { saveShared } from './shared-clones.js';

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

function transposeLast2(t: Tensor): Tensor {
  return t.rank === 2 ? transpose(t) : transpose(t, [0, 2, 1]);
}

/** Batched products whose output slices are at most this many elements use the native batched kernel. */
const SMALL_SLICE_OUTPUT = 1 << 18;

/**
 * Non-transposed matmul, choosing what is fast on wasm: one 2-D product for a single slice,
 * the native batched kernel for many slices with small outputs (measured [64,2048,16]·[64,16,32]:
 * 56 ms against 132 ms for a loop), and a loop of 2-D products for large outputs
 * ([4,2048,16]·[4,16,2048]: 75 ms against 470 ms native).
 */
function plainMatMul(a: Tensor, b: Tensor): Tensor {
  const sa = a.shape as number[];
  const sb = b.shape as number[];
  if (a.rank === 2 && b.rank === 2) return matMul(a as Tensor2D, b as Tensor2D);
  if (a.rank === 3 && b.rank === 2) {
    const [batch, n, k] = sa;
    return reshape(matMul(reshape(a, [batch * n, k]) as Tensor2D, b as Tensor2D), [batch, n, sb[1]]);
  }
  if (a.rank === 3 && b.rank === 3) {
    const [batch, n, k] = sa;
    const m = sb[2];
    if (batch === 1) {
      return reshape(matMul(reshape(a, [n, k]) as Tensor2D, reshape(b, [k, m]) as Tensor2D), [1, n, m]);
    }
    if (n * m <= SMALL_SLICE_OUTPUT) return matMul(a as Tensor3D, b as Tensor3D);
    const bs = unstack(b);
    return stack(unstack(a).map((ai, i) => matMul(ai as Tensor2D, bs[i] as Tensor2D)));
  }
  throw new ShapeError(`batchMatMul: unsupported ranks a ${formatShape(sa)}, b ${formatShape(sb)}`);
}

const fastMatMul = customGrad(((a: Tensor, b: Tensor, save: GradSaveFunc) => {
  saveShared(save, [a, b]);
  return {
    value: plainMatMul(a, b),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [sa, sb] = saved;
      const da = plainMatMul(dy, transposeLast2(sb));
      let db: Tensor;
      if (sa.rank === 3 && sb.rank === 2) {
        // b was shared across the batch: dB = Σ_b a_bᵀ dy_b = (flattened a)ᵀ (flattened dy)
        const [batch, n, k] = sa.shape as number[];
        db = matMul(
          transpose(reshape(sa, [batch * n, k])) as Tensor2D,
          reshape(dy, [batch * n, (dy.shape as number[])[2]]) as Tensor2D,
        );
      } else {
        db = plainMatMul(transposeLast2(sa), dy);
      }
      return [da, db];
    },
  };
}) as unknown as GradientFunction);

/**
 * op(a)·op(b) of `a`, `b` read as the 3-D shapes `aView`, `bView`, made in `outShape`: our SIMD
 * kernel on wasm and cpu (the views are attributes of one kernel: no reshape op), tf.matMul
 * between reshapes elsewhere.
 */
function batchedProduct(
  a: Tensor,
  b: Tensor,
  aView: number[],
  bView: number[],
  outShape: number[],
  transposeA: boolean,
  transposeB: boolean,
): Tensor {
  if (simdBatchMatMulAvailable()) {
    return simdBatchMatMulViews(a, b, [aView, bView, outShape], transposeA, transposeB);
  }
  const [a3, b3] = [
    reshape(a, aView as [number, number, number]),
    reshape(b, bView as [number, number, number]),
  ];
  const product = matMul(a3, b3, transposeA, transposeB);
  return reshape(product, outShape);
}

/**
 * Whether `a`, `b` can run as one batched product: `[N,K]·[K,M]` (one slice), `[B,N,K]·[K,M]`
 * (b shared by the batch: one slice of B·N rows, so dB = flattened aᵀ·dy), `[B,.,.]·[B,.,.]`.
 */
function batchable(a: Tensor, b: Tensor, transposeA: boolean): boolean {
  if (a.rank === 2 && b.rank === 2) return true;
  if (a.rank === 3 && b.rank === 2) return !transposeA;
  return a.rank === 3 && b.rank === 3 && a.shape[0] === b.shape[0];
}

/** The shape `[batch, ., .]` of `t` in a batchable product (see `batchable`). */
function batchView(t: Tensor, other: Tensor): number[] {
  const s = t.shape as number[];
  if (t.rank === 2) return [1, s[0], s[1]];
  return other.rank === 2 ? [1, s[0] * s[1], s[2]] : s;
}

/**
 * dA (made in `aShape`) and dB (in `bShape`) of C = op(A)·op(B) for A, B, dC read as the views
 * `aView`, `bView`, `cView`: again products of dC with A or B under other flags.
 */
function viewedProductGradients(
  dy: Tensor,
  a: Tensor,
  b: Tensor,
  [aView, bView, cView]: number[][],
  transposeA: boolean,
  transposeB: boolean,
): [Tensor, Tensor] {
  const [sA, sB] = [a.shape as number[], b.shape as number[]];
  const da = (x: Tensor, xView: number[], y: Tensor, yView: number[], tx: boolean, ty: boolean) =>
    batchedProduct(x, y, xView, yView, sA, tx, ty);
  const db = (x: Tensor, xView: number[], y: Tensor, yView: number[], tx: boolean, ty: boolean) =>
    batchedProduct(x, y, xView, yView, sB, tx, ty);
  if (!transposeA && !transposeB)
    return [da(dy, cView, b, bView, false, true), db(a, aView, dy, cView, true, false)];
  if (!transposeA) return [da(dy, cView, b, bView, false, false), db(dy, cView, a, aView, true, false)]; // C = A·Bᵀ
  if (!transposeB) return [da(b, bView, dy, cView, false, true), db(a, aView, dy, cView, false, false)]; // C = Aᵀ·B
  return [da(b, bView, dy, cView, true, true), db(dy, cView, a, aView, true, true)]; // C = Aᵀ·Bᵀ
}

/** The 3-D shape of op(A)·op(B) for the views `aView`, `bView`. */
function productView(aView: number[], bView: number[], transposeA: boolean, transposeB: boolean): number[] {
  return [aView[0], transposeA ? aView[2] : aView[1], transposeB ? bView[1] : bView[2]];
}

/**
 * A product whose transposes stay flags in both passes (no transpose is materialised): for
 * C = op(A)·op(B), dA and dB are again products of dC with A or B under other flags. The
 * operands are read as `[batch, ., .]` views and results made in their final shapes by the
 * kernel itself, so no reshape runs in either pass (each would be a tfjs op; a recorded one
 * keeps a copy of its input on wasm).
 */
function batchedMatMul(transposeA: boolean, transposeB: boolean) {
  return customGrad(((a: Tensor, b: Tensor, save: GradSaveFunc) => {
    saveShared(save, [a, b]);
    const [aView, bView] = [batchView(a, b), batchView(b, a)];
    const cView = productView(aView, bView, transposeA, transposeB);
    const [, rows, cols] = cView;
    const outShape =
      a.rank === 2
        ? [rows, cols]
        : b.rank === 2
          ? [a.shape[0] as number, rows / (a.shape[0] as number), cols]
          : cView;
    return {
      value: batchedProduct(a, b, aView, bView, outShape, transposeA, transposeB),
      gradFunc: (dy: Tensor, [sa, sb]: Tensor[]) =>
        viewedProductGradients(dy, sa, sb, [aView, bView, cView], transposeA, transposeB),
    };
  }) as unknown as GradientFunction);
}

/** `batched[transposeA ? 1 : 0][transposeB ? 1 : 0]`. */
const batched = [
  [batchedMatMul(false, false), batchedMatMul(false, true)],
  [batchedMatMul(true, false), batchedMatMul(true, true)],
];

/**
 * `a · b` (optionally with `b` or `a` transposed) for `[N,K]·[K,M]`, `[B,N,K]·[K,M]` and
 * `[B,N,K]·[B,K,M]`. Same value as `tf.matMul`, computed the way each backend is fast in
 * both passes: on wasm and cpu every product runs through our SIMD kernel with the
 * transposes as flags; elsewhere batched products with small slices use tf.matMul and the
 * rest runs as 2-D products with explicit transposes (tf.matMul's transposed and batched
 * forms are up to 10× slower on wasm).
 */
export function batchMatMul<T extends Tensor>(
  a: T,
  b: Tensor,
  { transposeA = false, transposeB = false }: { transposeA?: boolean; transposeB?: boolean } = {},
): T {
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3 || (a.rank === 2 && b.rank === 3)) {
    throw new ShapeError(
      `batchMatMul: unsupported ranks a ${formatShape(a.shape)}, b ${formatShape(b.shape)}`,
    );
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new DataError(`batchMatMul: expected float32 tensors, got a ${a.dtype} and b ${b.dtype}`);
  }
  const innerA = a.shape[a.rank - (transposeA ? 2 : 1)];
  const innerB = b.shape[b.rank - (transposeB ? 1 : 2)];
  if (innerA !== innerB) {
    throw new ShapeError(
      `batchMatMul: inner dimensions differ, a ${formatShape(a.shape)}${transposeA ? 'ᵀ' : ''} · b ${formatShape(b.shape)}${transposeB ? 'ᵀ' : ''}`,
    );
  }
  return tidy(() => {
    const product = batched[transposeA ? 1 : 0][transposeB ? 1 : 0];
    if (simdBatchMatMulAvailable() && batchable(a, b, transposeA)) return product(a, b) as T;
    if (a.rank === 3 && b.rank === 3 && a.shape[0] === b.shape[0] && a.shape[0] > 1) {
      const [, rowsA, colsA] = a.shape as number[];
      const [, rowsB, colsB] = b.shape as number[];
      const n = transposeA ? colsA : rowsA;
      const m = transposeB ? rowsB : colsB;
      if (n * m <= SMALL_SLICE_OUTPUT) return product(a, b) as T;
    }
    return fastMatMul(transposeA ? transposeLast2(a) : a, transposeB ? transposeLast2(b) : b) as T;
  });
}

/**
 * `op(a)·op(b)` of `a` and `b` read as the 3-D views `aView`, `bView` (row-major, what a reshape
 * would give; the same batch size), made in `outShape`: reshape, product and reshape as one
 * differentiable op, whose kernels on wasm and cpu read the views in place (no reshape runs in
 * either pass). E.g. the weight gradient of a dense layer over a batch of sets, Σ_rows tᵀ·dz, is
 * `viewedMatMul(t, dz, [1, R, K], [1, R, M], [K, M], { transposeA: true })` with R = B·N rows.
 */
export function viewedMatMul(
  a: Tensor,
  b: Tensor,
  aView: number[],
  bView: number[],
  outShape: number[],
  { transposeA = false, transposeB = false }: { transposeA?: boolean; transposeB?: boolean } = {},
): Tensor {
  const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
  const cView =
    aView.length === 3 && bView.length === 3 ? productView(aView, bView, transposeA, transposeB) : [];
  const inner = [aView[transposeA ? 1 : 2], bView[transposeB ? 2 : 1]];
  if (
    cView.length !== 3 ||
    size(aView) !== a.size ||
    size(bView) !== b.size ||
    aView[0] !== bView[0] ||
    inner[0] !== inner[1] ||
    size(outShape) !== size(cView)
  ) {
    throw new ShapeError(
      `viewedMatMul: views ${formatShape(aView)}${transposeA ? 'ᵀ' : ''} of a ${formatShape(a.shape)} and ` +
        `${formatShape(bView)}${transposeB ? 'ᵀ' : ''} of b ${formatShape(b.shape)} do not make a product of shape ${formatShape(outShape)}`,
    );
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new DataError(`viewedMatMul: expected float32 tensors, got a ${a.dtype} and b ${b.dtype}`);
  }
  const product = customGrad(((x: Tensor, y: Tensor, save: GradSaveFunc) => {
    saveShared(save, [x, y]);
    return {
      value: batchedProduct(x, y, aView, bView, outShape, transposeA, transposeB),
      gradFunc: (dy: Tensor, [sx, sy]: Tensor[]) =>
        viewedProductGradients(dy, sx, sy, [aView, bView, cView], transposeA, transposeB),
    };
  }) as unknown as GradientFunction);
  return product(a, b);
}

const rowGather = customGrad(((x: Tensor, indices: Tensor, save: GradSaveFunc) => {
  saveShared(save, [indices]);
  const rows = x.shape[0];
  return {
    value: gather(x, indices as Tensor1D, 0),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [idx] = saved;
      const dx = scatterND(reshape(idx, [idx.size, 1]), dy, [rows, ...(x.shape as number[]).slice(1)]);
      return [dx, zeros(idx.shape, 'float32')];
    },
  };
}) as unknown as GradientFunction);

/**
 * {@link gatherRows} for indices computed on the device (an argmin, say) and in range by
 * construction: no read-back to check them, which would stall webgl/webgpu.
 */
export function gatherRowsOnDevice<T extends Tensor>(x: T, indices: Tensor1D): T {
  return rowGather(x, indices) as T;
}

/**
 * Rows of `x` (`[R, ...]`) at `indices` (`[K]`, int32 or a JS array) → `[K, ...]`. Its
 * gradient is a scatter-add, so it trains on every backend (tf.gather's needs a kernel
 * that wasm lacks). For a batched gather, flatten to `[B·N, ...]` and offset the indices.
 */
export function gatherRows<T extends Tensor>(x: T, indices: Int32Array | number[] | Tensor1D): T {
  return tidy(() => {
    const onHost = indices instanceof Int32Array || Array.isArray(indices);
    const idx = onHost ? tensor1d(indices as number[], 'int32') : indices;
    const rows = x.shape[0];
    // host indices are checked as given: a read-back (synchronous, slow on webgl/webgpu) only for a tensor
    const values = onHost ? indices : idx.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!(values[i] >= 0 && values[i] < rows)) {
        throw new ShapeError(`indices[${i}]: expected an index in [0, ${rows}), got ${values[i]}`);
      }
    }
    return rowGather(x, idx) as T;
  });
}
