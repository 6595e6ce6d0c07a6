/**
 * The kernel assembled from batch-matmul.wat.mjs (with `importMemory`: computing in env.memory;
 * with `shared` as well: in a shared env.memory).
 */
export function assemble(options?: { importMemory?: boolean; shared?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the three binaries. */
export function moduleSource(binary: Buffer, inPlaceBinary: Buffer, sharedBinary: Buffer): string;
