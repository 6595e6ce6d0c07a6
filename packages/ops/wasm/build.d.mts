/** The kernel assembled from batch-matmul.wat.mjs (with `importMemory`: computing in env.memory). */
export function assemble(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries both binaries. */
export function moduleSource(binary: Buffer, inPlaceBinary: Buffer): string;
