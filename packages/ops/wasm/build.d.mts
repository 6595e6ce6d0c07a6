/** The kernels `build.mjs` assembles. */
export type KernelName = 'batch-matmul' | 'fused-attention';
/** A kernel assembled from its .wat.mjs source (with `importMemory`: computing in env.memory). */
export function assemble(options?: { importMemory?: boolean; kernel?: KernelName }): Promise<Buffer>;
/** The TypeScript module that carries both binaries of a kernel (default 'batch-matmul'). */
export function moduleSource(binary: Buffer, inPlaceBinary: Buffer, kernel?: KernelName): string;
