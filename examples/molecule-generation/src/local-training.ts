// TEMPORARY: a minimal training loop until the models runtime (issue #10: trainStep, fit,
// schedules, checkpoints) lands on main; then this file goes and the example uses the runtime.
// Adam (lr 2e-4), gradient-norm clipping at 4, reduce-on-plateau on the epoch's train loss,
// as the Top-n reference's train_test.py.

import type { OneShotSetVAE } from '@setgen/models';
import type { SetBatch } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';

export interface LocalTrainerState {
  step: number;
  epoch: number;
  learningRate: number;
  best: number;
  badEpochs: number;
}

export class LocalTrainer {
  readonly optimizer: tf.AdamOptimizer;
  state: LocalTrainerState;

  constructor(
    readonly model: OneShotSetVAE,
    readonly options: {
      learningRate: number;
      clipNorm: number;
      factor: number;
      patience: number;
      minLearningRate: number;
    },
  ) {
    this.optimizer = tf.train.adam(options.learningRate);
    this.state = { step: 0, epoch: 0, learningRate: options.learningRate, best: Infinity, badEpochs: 0 };
  }

  /** One clipped Adam step; returns the loss terms as numbers. */
  step(batch: SetBatch, seed: number, weights?: Record<string, number>): Record<string, number> {
    const variables = this.model.trainableVariables as tf.Variable[];
    let terms: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      terms = this.model.loss(batch, { seed, weights, training: true });
      for (const t of Object.values(terms)) tf.keep(t);
      return terms.total;
    }, variables);
    const out = Object.fromEntries(Object.entries(terms).map(([k, t]) => [k, t.dataSync()[0]]));
    tf.tidy(() => {
      const list = variables.map((v) => grads[v.name]);
      const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))).dataSync()[0];
      const scale = norm > this.options.clipNorm ? this.options.clipNorm / (norm + 1e-6) : 1;
      this.optimizer.applyGradients(
        Object.fromEntries(variables.map((v, i) => [v.name, tf.mul(list[i], scale)])),
      );
    });
    tf.dispose([value, ...Object.values(grads), ...Object.values(terms)]);
    this.state.step++;
    return out;
  }

  /** Reduce-on-plateau (PyTorch's default 'rel' threshold 1e-4) after an epoch with this loss; `frozen` skips the count. */
  endEpoch(loss: number, frozen = false): void {
    const s = this.state;
    s.epoch++;
    if (frozen) return;
    if (loss < s.best * (1 - 1e-4)) {
      s.best = loss;
      s.badEpochs = 0;
    } else if (++s.badEpochs > this.options.patience) {
      s.learningRate = Math.max(s.learningRate * this.options.factor, this.options.minLearningRate);
      (this.optimizer as unknown as { learningRate: number }).learningRate = s.learningRate;
      s.badEpochs = 0;
    }
  }
}
