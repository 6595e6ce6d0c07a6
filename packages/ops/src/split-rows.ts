// Splitting a tensor along its first axis. tfjs-wasm's SplitV and Slice copy the whole input
// for every piece (their readSync makes a copy), so splitting [64,2048,16] into 64 pieces
// takes ~0.5 s there; our kernel copies each piece once from a view (~1000× less).
import {
  concat,
  engine,
  getBackend,
  getGradient,
  getKernel,
  type KernelBackend,
  registerGradient,
  registerKernel,
  split,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { formatShape, ShapeError } from './errors.js';

const KERNEL_NAME = 'SetgenSplitRows';

function register(backendName: string, memory: TensorMemory): void {
  registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
      const backend = anyBackend as KernelBackend;
      const { x } = inputs as { x: TensorInfo };
      const { sizes } = attrs as unknown as { sizes: number[] };
      const rowShape = x.shape.slice(1);
      const rowSize = rowShape.reduce((a, b) => a * b, 1);
      let begin = 0;
      return sizes.map((rows) => {
        const from = begin * rowSize;
        begin += rows;
        // the input is viewed after each allocation: allocating may move wasm's heap
        return memory.write(backend, [rows, ...rowShape], (out) =>
          out.set(memory.read(backend, x).subarray(from, from + rows * rowSize)),
        );
      });
    },
  });
  if (!getGradient(KERNEL_NAME)) {
    // pieces without a gradient arrive as zeros (tfjs fills them), as for SplitV
    registerGradient({ kernelName: KERNEL_NAME, gradFunc: (dy) => ({ x: () => concat(dy as Tensor[], 0) }) });
  }
}

/**
 * `tf.split(x, sizes, 0)` (same values and gradient): the pieces of `x` along its first axis,
 * `sizes` summing to `x.shape[0]`. On wasm and cpu each piece is copied once from the input
 * (tfjs-wasm's split copies the whole input per piece).
 */
export function splitRows<T extends Tensor>(x: T, sizes: readonly number[]): T[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (x.rank < 1 || sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== x.shape[0]) {
    throw new ShapeError(
      `splitRows: sizes [${sizes.join(',')}] must be non-negative integers summing to the first dimension of x ${formatShape(x.shape)}`,
    );
  }
  const backendName = getBackend();
  const memory = tensorMemory(backendName);
  if (!memory || x.dtype !== 'float32') return split(x, [...sizes], 0) as T[];
  if (!getKernel(KERNEL_NAME, backendName)) register(backendName, memory);
  const pieces = engine().runKernel(KERNEL_NAME, { x }, { sizes: [...sizes] });
  return (Array.isArray(pieces) ? pieces : [pieces]) as T[];
}
