// Node-only entry of @setgen/ops: worker threads for the host kernels, and the thread count
// of the SIMD matrix product (its workers start by themselves in Node; this sets how many).
export {
  getMatmulThreads,
  type MatmulThreadsOptions,
  setMatmulThreads,
} from './matmul-threads.js';
export * from './node/worker-threads.js';
