/**
 * The matmul kernel assembled from batch-matmul.wat.mjs (with `importMemory`: computing in
 * env.memory; with `shared` as well: in a shared env.memory; with `fma`: fused multiply-adds
 * through relaxed SIMD, main tile `rows` × 4·`vectors`).
 */
export function assemble(options?: {
  importMemory?: boolean;
  shared?: boolean;
  fma?: boolean;
  rows?: number;
  vectors?: number;
}): Promise<Buffer>;
/** The six committed matmul builds: `[own, inPlace, shared]` without and with FMA. */
export function assembleAll(): Promise<[Buffer[], Buffer[]]>;
/** The TypeScript module that carries the matmul kernel's six binaries (`assembleAll`'s two triples). */
export function moduleSource(simd: Buffer[], fma: Buffer[]): string;
/** The fused attention kernel assembled from fused-attention.wat.mjs (with `importMemory`: in env.memory; with `fma`: relaxed SIMD). */
export function assembleAttention(options?: { importMemory?: boolean; fma?: boolean }): Promise<Buffer>;
/** The four committed attention builds: `[own, inPlace]` without and with FMA. */
export function assembleAttentionAll(): Promise<[Buffer[], Buffer[]]>;
/** The TypeScript module that carries the attention kernel's four binaries (`assembleAttentionAll`'s two pairs). */
export function attentionModuleSource(simd: Buffer[], fma: Buffer[]): string;
/** The fused LayerNorm kernel assembled from layer-norm.wat.mjs (with `importMemory`: in env.memory). */
export function assembleLayerNorm(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the LayerNorm kernel's two binaries. */
export function layerNormModuleSource(binary: Buffer, inPlaceBinary: Buffer): string;
/** Adam's update kernel assembled from adam.wat.mjs (with `importMemory`: in env.memory). */
export function assembleAdam(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the Adam kernel's two binaries. */
export function adamModuleSource(binary: Buffer, inPlaceBinary: Buffer): string;
/** The masked softmax kernel assembled from masked-softmax.wat.mjs (with `importMemory`: in env.memory). */
export function assembleMaskedSoftmax(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the masked softmax kernel's two binaries. */
export function maskedSoftmaxModuleSource(binary: Buffer, inPlaceBinary: Buffer): string;
/** The axis-swap kernel assembled from swap-axes.wat.mjs (with `importMemory`: in env.memory). */
export function assembleSwapAxes(options?: { importMemory?: boolean }): Promise<Buffer>;
/** The TypeScript module that carries the axis-swap kernel's two binaries. */
export function swapAxesModuleSource(binary: Buffer, inPlaceBinary: Buffer): string;
