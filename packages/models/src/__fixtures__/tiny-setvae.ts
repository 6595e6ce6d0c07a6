// The tiny SetVAE every SetVAE test trains (two levels, width 16): seconds per test on wasm.
import type { SetVAEConfig } from '../setvae-config.js';

export const tinySetVAE: SetVAEConfig = {
  inputDim: 2,
  hiddenDim: 16,
  numHeads: 2,
  latentDim: 4,
  inducingPoints: [2, 4],
  initialSetDim: 8,
  mixtureComponents: 2,
  maxOutputs: 64,
  beta: 0.01,
  klWarmupEpochs: 0,
  learningRate: 3e-3,
  epochs: 100,
  batchSize: 4,
  seed: 7,
};
