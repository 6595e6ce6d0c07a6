// A model written against the runtime, as the README's "Write your own model" shows: a
// DeepSets autoencoder (Zaheer et al. 2017: f(X) = ρ(Σ_x φ(x))) with a first-n decoder,
// trained on Chamfer. Only its layers, its loss and its config; the runtime does the rest.
import { denseProjection } from '@setgen/layers';
import { linearInitValues } from '@setgen/layers/internal';
import { asSetBatch, ConfigError, chamferDistance, Random } from '@setgen/ops';
import { checkPositiveInteger } from '@setgen/ops/internal';
import {
  expandDims,
  mul,
  reshape,
  type Scalar,
  sum,
  type Tensor3D,
  tensor,
  tidy,
  type Variable,
  variable,
} from '@tensorflow/tfjs-core';
import { registerModel } from '../registry.js';
import type { LossOptions, NamedVariable, TrainBatch, TrainingPlan } from '../set-model.js';
import { TrainableSetModel } from '../trainable-set-model.js';

export interface DeepSetsAutoencoderConfig {
  dim: number;
  hidden: number;
  maxSize: number;
  learningRate?: number;
  seed?: number;
}

export class DeepSetsAutoencoder extends TrainableSetModel {
  static readonly className: string = 'DeepSetsAutoencoder';
  private readonly config: Required<DeepSetsAutoencoderConfig>;
  private readonly weights: NamedVariable[];

  constructor(config: DeepSetsAutoencoderConfig) {
    super();
    const { dim, hidden, maxSize, learningRate = 1e-2, seed = 0, ...unknown } = config;
    if (Object.keys(unknown).length > 0) throw new ConfigError(`config.${Object.keys(unknown)[0]}: unknown key`);
    for (const [key, n] of Object.entries({ dim, hidden, maxSize })) checkPositiveInteger(n, `config.${key}`);
    this.config = { dim, hidden, maxSize, learningRate, seed };
    const random = new Random(seed);
    const init = (name: string, shape: number[], fanIn: number) => {
      const values = linearInitValues(fanIn, shape.reduce((a, b) => a * b), random); // PyTorch's nn.Linear
      return { name, variable: tidy(() => variable(tensor(values, shape), true)) };
    };
    this.weights = [
      init('phi/kernel', [dim, hidden], dim),
      init('phi/bias', [hidden], dim),
      init('rho/kernel', [hidden, maxSize * dim], hidden),
      init('rho/bias', [maxSize * dim], hidden),
    ];
  }

  getConfig() {
    return { ...this.config };
  }

  trainingPlan(): TrainingPlan {
    return { learningRate: this.config.learningRate, epochs: 2 };
  }

  namedWeights(): NamedVariable[] {
    return this.weights;
  }

  /** X → ρ(Σ φ(x)) reshaped to a set of `maxSize` elements. */
  reconstruct(x: Tensor3D, mask?: TrainBatch['mask']): Tensor3D {
    const [phiW, phiB, rhoW, rhoB] = this.trainableVariables;
    let h = denseProjection(x, phiW, { bias: phiB, relu: true });
    if (mask) h = mul(h, expandDims(mask, 2));
    const pooled = expandDims(sum(h, 1), 1) as Tensor3D; // [B, 1, hidden]
    const out = denseProjection(pooled, rhoW, { bias: rhoB });
    return reshape(out, [x.shape[0], this.config.maxSize, this.config.dim]);
  }

  loss(batch: TrainBatch, _options?: LossOptions) {
    const { x, mask } = asSetBatch(batch, 'batch');
    return tidy(() => {
      const total = chamferDistance(this.reconstruct(x, mask), { x, mask }) as Scalar;
      return { total, chamfer: total.clone() };
    });
  }

  protected disposeWeights(): void {
    for (const w of this.weights) w.variable.dispose();
  }
}

registerModel(DeepSetsAutoencoder);
