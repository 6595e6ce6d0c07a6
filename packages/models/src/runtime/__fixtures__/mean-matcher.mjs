// A user's own model in plain JavaScript, for `dataParallel`'s `setup` option: the workers
// import this module first, so they can rebuild the class by its name. It learns a scale and
// an offset so that scale·mean(X) matches the offset (a loss that is a mean over the sets).
import { registerModel, TrainableSetModel } from '@setgen/models';
import * as tf from '@tensorflow/tfjs-core';

export class MeanMatcher extends TrainableSetModel {
  static className = 'MeanMatcher';

  constructor({ dim = 2, seed = 0 } = {}) {
    super();
    this.config = { dim, seed };
    this.offset = tf.variable(tf.fill([dim], 0.5));
    this.scale = tf.variable(tf.scalar(1.5));
  }

  getConfig() {
    return { ...this.config };
  }

  namedWeights() {
    return [
      { name: 'offset', variable: this.offset },
      { name: 'scale', variable: this.scale },
    ];
  }

  loss(batch) {
    return tf.tidy(() => {
      const mask = batch.mask ?? tf.ones(batch.x.shape.slice(0, 2));
      const means = tf.div(tf.sum(tf.mul(batch.x, tf.expandDims(mask, 2)), 1), tf.expandDims(tf.sum(mask, 1), 1));
      const gap = tf.sub(tf.mul(means, this.scale), this.offset);
      const total = tf.mean(tf.sum(tf.square(gap), 1));
      return { total, gap: total.clone() };
    });
  }

  disposeWeights() {
    this.offset.dispose();
    this.scale.dispose();
  }
}

registerModel(MeanMatcher);
