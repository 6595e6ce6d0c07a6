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

/** The operands of a product as `[batch, ., .]`, or null where the kernel path does not apply. */
function asBatches(a: Tensor, b: Tensor, transposeA: boolean): [Tensor3D, Tensor3D] | null {
  const sa = a.shape as number[];
  const sb = b.shape as number[];
  const single = (t: Tensor) => reshape(t, [1, t.shape[0] as number, t.shape[1] as number]) as Tensor3D;
  if (a.rank === 2 && b.rank === 2) return [single(a), single(b)];
  // b shared across the batch: one product of the flattened rows (dB = flattened aᵀ·dy)
  if (a.rank === 3 && b.rank === 2 && !transposeA) return [reshape(a, [1, sa[0] * sa[1], sa[2]]), single(b)];
  if (a.rank === 3 && b.rank === 3 && sa[0] === sb[0]) return [a as Tensor3D, b as Tensor3D];
  return null;
}

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
  const innerA = a.shape[a.rank - (transposeA ? 2 : 1)];
  const innerB = b.shape[b.rank - (transposeB ? 1 : 2)];
  if (innerA !== innerB) {
    throw new ShapeError(
      `batchMatMul: inner dimensions differ, a ${formatShape(a.shape)}${transposeA ? 'ᵀ' : ''} · b ${formatShape(b.shape)}${transposeB ? 'ᵀ' : ''}`,
    );
  }
  return tidy(() => {
    const product = batched[transposeA ? 1 : 0][transposeB ? 1 : 0];
    const batches = simdBatchMatMulAvailable() ? asBatches(a, b, transposeA) : null;
    if (batches) {
      const c = product(...batches) as Tensor3D;
      const rows = a.rank === 3 ? [a.shape[0], c.shape[1] / a.shape[0]] : [c.shape[1]];
      return (a.rank === 3 && b.rank === 3 ? c : reshape(c, [...rows, c.shape[2]])) as T;
    }
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
