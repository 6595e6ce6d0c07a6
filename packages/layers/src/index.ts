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
