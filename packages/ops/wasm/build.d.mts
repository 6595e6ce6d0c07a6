/**
 * The matmul kernel assembled from batch-matmul.wat.mjs (with `importMemory`: computing in
 * env.memory; with `shared` as well: in a shared env.memory).
 */
export function assemble(options?: { importMemory?: boolean; shared?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the matmul kernel's three binaries. */
export function moduleSource(binary: Buffer, inPlaceBinary: Buffer, sharedBinary: Buffer): string;
/** The fused attention kernel assembled from fused-attention.wat.mjs (with `importMemory`: in env.memory). */
export function assembleAttention(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the attention kernel's two binaries. */
export function attentionModuleSource(binary: Buffer, inPlaceBinary: Buffer): string;
/** The fused LayerNorm kernel assembled from layer-norm.wat.mjs (with `importMemory`: in env.memory). */
export function assembleLayerNorm(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the LayerNorm kernel's two binaries. */
export function layerNormModuleSource(binary: Buffer, inPlaceBinary: Buffer): string;
