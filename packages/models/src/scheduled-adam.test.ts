import { describeBackends, expectNoLeak, randomTensor, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ScheduledAdam } from './scheduled-adam.js';

const SHAPES = [[3, 4], [5], [2, 3, 2], [1]];

/** Variables with the same start values under two name prefixes, and a gradient source. */
function setup(prefix: string) {
  const rand = testRandom(7);
  return SHAPES.map((shape, i) => tf.variable(randomTensor(rand, shape), true, `${prefix}${i}`));
}

describeBackends('ScheduledAdam', (backend) => {
  it('updates values and moments bit-identically to tfjs AdamOptimizer, also for a variable without gradient', async () => {
    const ours = setup(`${backend}-ours`);
    const theirs = setup(`${backend}-theirs`);
    const adam = new ScheduledAdam(0.01);
    const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
    const rand = testRandom(11);
    for (let step = 0; step < 4; step++) {
      adam.setScheduleFactor(1 - step / 8); // the schedule moves the rate between steps
      (reference as unknown as { learningRate: number }).learningRate = adam.currentLearningRate;
      const grads = SHAPES.map((shape) => randomTensor(rand, shape));
      // variable 2 gets no gradient in odd steps
      const named = (vars: tf.Variable[]) =>
        vars.map((v, i) => ({
          name: v.name,
          tensor: step % 2 === 1 && i === 2 ? (null as unknown as tf.Tensor) : grads[i],
        }));
      adam.applyGradients(named(ours));
      reference.applyGradients(named(theirs));
      tf.dispose(grads);
    }
    ours.forEach((v, i) => {
      expect(Array.from(v.dataSync()), `value ${i}`).toEqual(Array.from(theirs[i].dataSync()));
    });
    const [w, r] = [await adam.getWeights(), await reference.getWeights()];
    expect(w.map((x) => x.name.replace(`${backend}-ours`, ''))).toEqual(
      r.map((x) => x.name.replace(`${backend}-theirs`, '')),
    );
    w.forEach((x, i) => {
      expect(Array.from(x.tensor.dataSync()), x.name).toEqual(Array.from(r[i].tensor.dataSync()));
    });
    tf.dispose([w[0].tensor, r[0].tensor, ...ours, ...theirs]);
    adam.dispose();
    reference.dispose();
  });

  it('applyScaledGradients(g, s) is applyGradients(g · s) bit for bit (clipping inside the update)', async () => {
    const ours = setup(`${backend}-scaled`);
    const theirs = setup(`${backend}-multiplied`);
    const [adam, reference] = [new ScheduledAdam(0.01), new ScheduledAdam(0.01)];
    const rand = testRandom(12);
    for (const scale of [0.37, 1, 0.0123]) {
      const grads = SHAPES.map((shape) => randomTensor(rand, shape, 5));
      const named = (vars: tf.Variable[], t: tf.Tensor[]) =>
        vars.map((v, i) => ({ name: v.name, tensor: t[i] }));
      adam.applyScaledGradients(named(ours, grads), scale);
      const multiplied = grads.map((g) => tf.mul(g, scale));
      reference.applyGradients(named(theirs, multiplied));
      tf.dispose([...grads, ...multiplied]);
    }
    ours.forEach((v, i) => {
      expect(Array.from(v.dataSync()), `value ${i}`).toEqual(Array.from(theirs[i].dataSync()));
    });
    await expectNoLeak(() => adam.applyScaledGradients([], 0.5));
    adam.dispose();
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });

  it('leaves no tensor behind after a step', async () => {
    const vars = setup(`${backend}-leak`);
    const adam = new ScheduledAdam(0.01);
    const grads = vars.map((v) => tf.onesLike(v));
    adam.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] }))); // creates the moments
    await expectNoLeak(() => adam.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] }))));
    tf.dispose([...grads, ...vars]);
    adam.dispose();
  });
});
