export * from './attention.js';
export * from './attentive-bottleneck-layer.js';
export { denseProjection } from './dense-projection.js';
export * from './film.js';
export * from './first-n-creation.js';
export * from './fs-encoder.js';
export * from './fspool.js';
export * from './iid-creation.js';
export {
  InducedSetAttentionBlock,
  type InducedSetAttentionBlockArgs,
  type IsabForwardOptions,
  type IsabOutput,
  isab,
} from './induced-set-attention-block.js';
export * from './mixture-of-gaussians-prior.js';
export * from './mlp-creation.js';
export {
  ATTENTION_KINDS,
  type AttentionKind,
  MAB_VARIANTS,
  type MabCallOptions,
  type MabOptions,
  type MabVariant,
  MultiheadAttentionBlock,
  type MultiheadAttentionBlockArgs,
  mab,
  SLOT_DENOMINATORS,
} from './multihead-attention-block.js';
export * from './pooling-by-multihead-attention.js';
export {
  SetAttentionBlock,
  type SetAttentionBlockArgs,
  sab,
} from './set-attention-block.js';
export {
  type CreateOptions,
  type SetCreation,
  type SetCreationArgs,
  SetCreationLayer,
} from './set-creation.js';
export * from './set-pooling.js';
export * from './top-n-creation.js';
