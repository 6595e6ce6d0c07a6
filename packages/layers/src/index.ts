export {};
export * from './set-creation.js';
export * from './mixture-of-gaussians-prior.js';
export * from './iid-creation.js';
export * from './attention.js';
export * from './multihead-attention-block.js';
