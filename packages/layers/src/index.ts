export * from './attention.js';
export * from './fspool.js';
export * from './iid-creation.js';
export * from './mixture-of-gaussians-prior.js';
export * from './multihead-attention-block.js';
export {
  type CreateOptions,
  type SetCreation,
  type SetCreationArgs,
  SetCreationLayer,
} from './set-creation.js';
export * from './set-pooling.js';
export * from './film.js';
export * from './top-n-creation.js';
export * from './first-n-creation.js';
export * from './mlp-creation.js';
export * from './set-attention-block.js';
export * from './induced-set-attention-block.js';
export * from './pooling-by-multihead-attention.js';
export * from './attentive-bottleneck-layer.js';
