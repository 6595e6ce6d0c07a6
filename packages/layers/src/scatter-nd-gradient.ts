// tfjs 4.22 registers no gradient for ScatterNd, the kernel behind the backward pass of
// `gatherRows` (@setgen/ops). Without one, a gradient of a gradient through a gather fails
// ("gradient function not found for ScatterNd"), which DSPN's inner loop needs when trained
// end to end (second-order gradients through FSPool). d scatterNd(indices, updates) / d updates
// is the gather of the incoming gradient at the same indices.
import { gatherND, getGradient, registerGradient, type Tensor, zeros } from '@tensorflow/tfjs-core';

/** Registers the ScatterNd gradient once (a no-op if tfjs or someone else already did). */
export function registerScatterNdGradient(): void {
  if (getGradient('ScatterNd')) return;
  registerGradient({
    kernelName: 'ScatterNd',
    inputsToSave: ['indices'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [indices] = saved;
      return {
        indices: () => zeros(indices.shape, 'float32'),
        updates: () => gatherND(dy as Tensor, indices),
      };
    },
  });
}
