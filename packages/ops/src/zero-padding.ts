// Zeroing the padded rows of a set batch by selection, so NaN or ±Infinity there never reach a
// value or a gradient (multiplying by the mask would keep them: NaN·0 = NaN). On wasm and cpu a
// kernel copies x once and clears the padded rows; tf.where would need the [B,N] mask tiled to
// [B,N,D] first, and tfjs-wasm's Tile is slow (measured [64,342,64]: ~1 s, against 60 ms for
// the multiply it replaces).
import {
  cast,
  engine,
  fill,
  getBackend,
  getGradient,
  getKernel,
  greater,
  type KernelBackend,
  registerGradient,
  registerKernel,
  reshape,
  sub,
  type Tensor,
  type Tensor2D,
  type TensorInfo,
  tidy,
  where,
  zerosLike,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { formatShape, ShapeError } from './errors.js';

const KERNEL_NAME = 'SetgenZeroPadding';

function register(backendName: string, memory: TensorMemory): void {
  registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: ({ inputs, backend: anyBackend }) => {
      const backend = anyBackend as KernelBackend;
      const { x, mask } = inputs as { x: TensorInfo; mask: TensorInfo };
      const rows = mask.shape.reduce((a, b) => a * b, 1);
      const width = x.shape.slice(mask.shape.length).reduce((a, b) => a * b, 1);
      // the inputs are viewed after the allocation: allocating may move wasm's heap
      return memory.write(backend, [...x.shape], (out) => {
        out.set(memory.read(backend, x));
        const m = memory.read(backend, mask);
        for (let r = 0; r < rows; r++) if (!(m[r] > 0.5)) out.fill(0, r * width, (r + 1) * width);
      });
    },
  });
  if (!getGradient(KERNEL_NAME)) {
    // d out / d x is 1 at elements and 0 at padding: the same selection of the (finite) dy
    registerGradient({
      kernelName: KERNEL_NAME,
      inputsToSave: ['mask'],
      gradFunc: (dy, saved) => {
        const [mask] = saved;
        return { x: () => zeroPadding(dy as Tensor, mask as Tensor2D), mask: () => zerosLike(mask) };
      },
    });
  }
}

/**
 * `x [B, N, ...]` with its padded rows (`mask [B, N]` ≤ 0.5, or NaN) replaced by exact zeros —
 * selected, not multiplied, so NaN or ±Infinity in padding never reach a value or a gradient
 * (the gradient at padded rows is 0). One copy of x on wasm and cpu; `tf.where` elsewhere.
 */
export function zeroPadding<T extends Tensor>(x: T, mask: Tensor2D): T {
  if (x.rank < 2 || mask.rank !== 2 || x.shape[0] !== mask.shape[0] || x.shape[1] !== mask.shape[1]) {
    throw new ShapeError(
      `zeroPadding: mask ${formatShape(mask.shape)} must match the first two dimensions of x ${formatShape(x.shape)}`,
    );
  }
  const backendName = getBackend();
  const memory = tensorMemory(backendName);
  return tidy(() => {
    const m = mask.dtype === 'float32' ? mask : cast(mask, 'float32');
    if (memory && x.dtype === 'float32') {
      if (!getKernel(KERNEL_NAME, backendName)) register(backendName, memory);
      return engine().runKernel(KERNEL_NAME, { x, mask: m }) as T;
    }
    // [B, N, 1, ...] against x: a broadcasting comparison gives the full condition without a Tile
    const rows = reshape(m, [...mask.shape, ...x.shape.slice(2).map(() => 1)]);
    const zeros = fill(x.shape, 0, x.dtype);
    return where(greater(sub(rows, 0.5), cast(zeros, 'float32')), x, zeros) as T;
  });
}
