// Adam whose learning rate follows a schedule (SetVAE App. D: Adam(0.9, 0.999), linear
// decay to zero after half of training). tfjs's AdamOptimizer reads `learningRate` at
// every update, so a subclass can move it; `getWeights/setWeights` carry the step and
// both moments, which is what an exact resume needs.

import { ConfigError } from '@setgen/ops';
import { AdamOptimizer } from '@tensorflow/tfjs-core';

export class ScheduledAdam extends AdamOptimizer {
  /** The learning rate before the schedule's factor. */
  readonly baseLearningRate: number;

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8) {
    if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
      throw new ConfigError(`learningRate: expected a finite number >= 0, got ${learningRate}`);
    }
    super(learningRate, beta1, beta2, epsilon);
    this.baseLearningRate = learningRate;
  }

  /** Sets the current learning rate to `baseLearningRate · factor`. */
  setScheduleFactor(factor: number): void {
    this.learningRate = this.baseLearningRate * factor;
  }

  /** The learning rate the next update will use. */
  get currentLearningRate(): number {
    return this.learningRate;
  }
}
