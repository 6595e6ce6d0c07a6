// Tensor helpers that every floor needs and that the wasm backend gets wrong or slow
// (TOOLCHAIN.md §3–4): a batched matmul without transposed/batched kernels, and a row
// gather whose gradient needs no UnsortedSegmentSum.
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
import { simdBatchMatMul, simdBatchMatMulAvailable } from './batch-matmul-kernel.js';
import { formatShape, ShapeError } from './errors.js';

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

/**
 * aᵀ·b for 2-D operands (the weight gradient of a dense layer): our kernel reads aᵀ in
 * place where it runs (2× faster than XNNPACK, which repacks the fresh b on every call).
 */
function transposedProduct(a: Tensor, b: Tensor): Tensor {
  if (!simdBatchMatMulAvailable()) return matMul(transpose(a) as Tensor2D, b as Tensor2D);
  const [rows, k] = a.shape as number[];
  const m = (b.shape as number[])[1];
  return reshape(simdBatchMatMul(reshape(a, [1, rows, k]), reshape(b, [1, rows, m]), true, false), [k, m]);
}

const fastMatMul = customGrad(((a: Tensor, b: Tensor, save: GradSaveFunc) => {
  save([a, b]);
  return {
    value: plainMatMul(a, b),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [sa, sb] = saved;
      const da = plainMatMul(dy, transposeLast2(sb));
      let db: Tensor;
      if (sa.rank === 3 && sb.rank === 2) {
        // b was shared across the batch: dB = Σ_b a_bᵀ dy_b = (flattened a)ᵀ (flattened dy)
        const [batch, n, k] = sa.shape as number[];
        db = transposedProduct(
          reshape(sa, [batch * n, k]),
          reshape(dy, [batch * n, (dy.shape as number[])[2]]),
        );
      } else if (sa.rank === 2) {
        db = transposedProduct(sa, dy);
      } else {
        db = plainMatMul(transposeLast2(sa), dy);
      }
      return [da, db];
    },
  };
}) as unknown as GradientFunction);

/** op(a)·op(b) for 3-D operands: our SIMD kernel on wasm and cpu, tf.matMul elsewhere. */
function batchedProduct(a: Tensor3D, b: Tensor3D, transposeA: boolean, transposeB: boolean): Tensor3D {
  return simdBatchMatMulAvailable()
    ? simdBatchMatMul(a, b, transposeA, transposeB)
    : matMul(a, b, transposeA, transposeB);
}

/**
 * A batched product whose transposes stay flags in both passes (no transpose is
 * materialised): for C = op(A)·op(B), dA and dB are again products of dC with A or B
 * under other flags.
 */
function batchedMatMul(transposeA: boolean, transposeB: boolean) {
  return customGrad(((a: Tensor, b: Tensor, save: GradSaveFunc) => {
    save([a, b]);
    return {
      value: batchedProduct(a as Tensor3D, b as Tensor3D, transposeA, transposeB),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sa, sb] = saved as Tensor3D[];
        const dc = dy as Tensor3D;
        const product = batchedProduct;
        if (!transposeA && !transposeB) return [product(dc, sb, false, true), product(sa, dc, true, false)];
        if (!transposeA) return [product(dc, sb, false, false), product(dc, sa, true, false)]; // C = A·Bᵀ
        if (!transposeB) return [product(sb, dc, false, true), product(sa, dc, false, false)]; // C = Aᵀ·B
        return [product(sb, dc, true, true), product(dc, sa, true, true)]; // C = Aᵀ·Bᵀ
      },
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
 * both passes: batched products through our SIMD kernel on wasm and cpu (transposes as
 * flags; elsewhere tf.matMul, with a loop of 2-D products for large slices), everything
 * else as 2-D products with explicit transposes (~10× faster on wasm than `tf.matMul`
 * there, equal elsewhere).
 */
export function batchMatMul<T extends Tensor>(
  a: T,
  b: Tensor,
  { transposeA = false, transposeB = false }: { transposeA?: boolean; transposeB?: boolean } = {},
): T {
  return tidy(() => {
    if (a.rank === 3 && b.rank === 3) {
      const [batch, rowsA, colsA] = a.shape as number[];
      const [batchB, rowsB, colsB] = b.shape as number[];
      const n = transposeA ? colsA : rowsA;
      const m = transposeB ? rowsB : colsB;
      const innerA = transposeA ? rowsA : colsA;
      const innerB = transposeB ? colsB : rowsB;
      const simd = simdBatchMatMulAvailable();
      if (batch === batchB && innerA === innerB && (simd || (batch > 1 && n * m <= SMALL_SLICE_OUTPUT))) {
        return batched[transposeA ? 1 : 0][transposeB ? 1 : 0](a, b) as T;
      }
    }
    const left = transposeA ? transposeLast2(a) : a;
    const right = transposeB ? transposeLast2(b) : b;
    if (left.shape[left.rank - 1] !== right.shape[right.rank - 2]) {
      throw new ShapeError(
        `batchMatMul: inner dimensions differ, a ${formatShape(left.shape)} · b ${formatShape(right.shape)}`,
      );
    }
    return fastMatMul(left, right) as T;
  });
}

const rowGather = customGrad(((x: Tensor, indices: Tensor, save: GradSaveFunc) => {
  save([indices]);
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
 * Rows of `x` (`[R, ...]`) at `indices` (`[K]`, int32 or a JS array) → `[K, ...]`. Its
 * gradient is a scatter-add, so it trains on every backend (tf.gather's needs a kernel
 * that wasm lacks). For a batched gather, flatten to `[B·N, ...]` and offset the indices.
 */
export function gatherRows<T extends Tensor>(x: T, indices: Int32Array | number[] | Tensor1D): T {
  return tidy(() => {
    const idx =
      indices instanceof Int32Array || Array.isArray(indices)
        ? tensor1d(indices as number[], 'int32')
        : indices;
    const rows = x.shape[0];
    const values = idx.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!(values[i] >= 0 && values[i] < rows)) {
        throw new ShapeError(`indices[${i}]: expected an index in [0, ${rows}), got ${values[i]}`);
      }
    }
    return rowGather(x, idx) as T;
  });
}
