// `@setgen/layers/internal`: plumbing that @setgen/models shares with the layers (not the
// layers themselves): PyTorch's nn.Linear initialisation and the shape helpers of the blocks.

export { singleSetShape, tileOverBatch } from './layer-utils.js';
export { linearInitBound, linearInitializer, linearInitValues } from './linear-init.js';
