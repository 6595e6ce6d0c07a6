/** The kernel assembled from batch-matmul.wat.mjs. */
export function assemble(): Promise<Buffer>;
/** The TypeScript module that carries `binary`. */
export function moduleSource(binary: Buffer): string;
