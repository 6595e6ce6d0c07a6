// `@setgen/ops/internal`: plumbing that the @setgen packages share, not the paper's ops.
// Argument checks (one definition and one error class per kind of bad input), the mask
// definition, and the performance internals every floor multiplies and splits through.
// Other @setgen packages import these; users may, but the names carry no stability promise
// beyond the package's minor version (see README, "Public surface and @setgen/ops/internal").
export {
  type AdamOperands,
  type AdamStepConstants,
  adamUpdateAvailable,
  adamUpdates,
} from './adam-update.js';
export { type TensorMemory, tensorMemory } from './backend-memory.js';
export { matmulKernelVariant, simdBatchMatMulAvailable } from './batch-matmul-kernel.js';
export { boundingDiameter, type EmdBelowCutoff, exactEmdBelowCutoff } from './earth-movers-distance.js';
export {
  FUSED_ATTENTION_FLAG,
  type FusedAttentionOptions,
  fusedAttentionAvailable,
  fusedAttentionReady,
  fusedAttentionVariant,
  fusedSoftmaxAttention,
} from './fused-attention.js';
export {
  FUSED_LAYER_NORM_FLAG,
  fusedAddLayerNorm,
  fusedLayerNormAvailable,
  fusedLayerNormReady,
} from './fused-layer-norm.js';
export { batchMatMul, gatherRows, viewedMatMul } from './linalg.js';
export { elementMask } from './mask.js';
export { FUSED_SOFTMAX_FLAG, fusedSoftmaxAvailable, maskBias, maskedSoftmax } from './masked-softmax.js';
export { onOneMatmulThread } from './matmul-threads.js';
export {
  checkPairCost,
  checkPointReduction,
  type HostPairCost,
  hostPairCost,
  pairCostRows,
  weightedPairCostSum,
} from './pair-cost.js';
export { type HostSetBatch, readSetBatch } from './read-set-batch.js';
export { reduceBatch } from './reduce-batch.js';
export { checkHostSet, checkReduction } from './set-batch.js';
export { saveShared, withSharedClones } from './shared-clones.js';
export { splitRows } from './split-rows.js';
export { swapMiddleAxes } from './swap-middle-axes.js';
export * from './validate.js';
export {
  relaxedSimdAvailable,
  setWasmFma,
  type WasmFmaMode,
  wasmFmaEnabled,
} from './wasm-fma.js';
export type { KernelVariant } from './wasm-kernel.js';
export { zeroPadding } from './zero-padding.js';
