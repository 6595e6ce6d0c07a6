// TEMPORARY: a minimal Adam loop over `SetModel.loss`, used only until the models runtime
// (issue #10: trainStep/fit/save/load) is on main; then the study moves onto it.
import { batches, type SetDataset } from '@setgen/data';
import type { SetModel } from '@setgen/models';
import * as tf from '@tensorflow/tfjs-core';

export interface LoopProgress {
  step: number;
  losses: Record<string, number>;
  seconds: number;
}

/** `steps` Adam steps on shuffled minibatches (epoch e shuffled with seed + e). */
export async function temporaryFit(
  model: SetModel,
  data: SetDataset,
  options: {
    steps: number;
    batchSize: number;
    learningRate: number;
    seed: number;
    onStep?: (p: LoopProgress) => void;
  },
): Promise<void> {
  const optimizer = tf.train.adam(options.learningRate);
  const start = performance.now();
  let step = 0;
  try {
    for (let epoch = 0; step < options.steps; epoch++) {
      for await (const batch of batches(data.sets, {
        batchSize: options.batchSize,
        shuffle: true,
        seed: options.seed + epoch,
      })) {
        try {
          if (step >= options.steps) break;
          const losses: Record<string, number> = {};
          const { value, grads } = tf.variableGrads(() => {
            const terms = model.loss(batch, { seed: options.seed * 100003 + step, training: true });
            for (const [k, v] of Object.entries(terms)) if (k !== 'total') losses[k] = v.dataSync()[0];
            return terms.total;
          }, model.trainableVariables as tf.Variable[]);
          losses.total = value.dataSync()[0];
          optimizer.applyGradients(grads as tf.NamedTensorMap as never);
          tf.dispose([value, grads]);
          step++;
          options.onStep?.({ step, losses, seconds: (performance.now() - start) / 1000 });
        } finally {
          tf.dispose([batch.x, batch.mask as tf.Tensor]);
        }
      }
    }
  } finally {
    optimizer.dispose();
  }
}
