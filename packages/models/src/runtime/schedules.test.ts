// Schedules as hooks: the learning rate and loss-term weights a trainer uses, step by step,
// and reduce-on-plateau's state through a checkpoint.
import { ConfigError } from '@setgen/ops';
import { describeBackends } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { padded, ringSets } from '../__fixtures__/ring-sets.js';
import { DeepSetsAutoencoder } from './__fixtures__/deep-sets-autoencoder.js';
import { constantLearningRate, linearDecay, linearWarmup, reduceOnPlateau, Trainer } from './index.js';
import { loadModel, saveModel, trainerOf } from './registry.js';

const at = (epoch: number) => ({ step: 0, epoch });

describeBackends('schedules', () => {
  it('linearDecay: constant for the first fraction, then linear to zero at totalEpochs', () => {
    const half = linearDecay(2e-3, { totalEpochs: 10 });
    expect([0, 2.5, 5, 6, 7.5, 9, 10, 12].map((e) => half(at(e)))).toEqual([
      2e-3,
      2e-3,
      2e-3,
      2e-3 * 0.8,
      2e-3 * 0.5,
      2e-3 * (1 - 4 / 5),
      0,
      0,
    ]);
    const late = linearDecay(1, { totalEpochs: 4, after: 0.75 });
    expect([2, 3, 3.5, 4].map((e) => late(at(e)))).toEqual([1, 1, 0.5, 0]);
    expect(constantLearningRate(0.1)(at(99))).toBe(0.1);
    expect(() => linearDecay(1, { totalEpochs: 0 })).toThrow(ConfigError);
    expect(() => linearDecay(1, { totalEpochs: 4, after: 1 })).toThrow(/after/);
    expect(() => constantLearningRate(Number.NaN)).toThrow(/learningRate/);
  });

  it('linearWarmup: a loss-term weight from 0 to its target over `epochs` (0 = target at once)', () => {
    const beta = linearWarmup('kl', 0.01, 4);
    expect([0, 1, 2, 4, 9].map((e) => beta(at(e)).kl)).toEqual([0, 0.0025, 0.005, 0.01, 0.01]);
    expect(linearWarmup('kl', 0.5, 0)(at(0))).toEqual({ kl: 0.5 });
    expect(() => linearWarmup('', 1, 1)).toThrow(/term/);
  });

  it('reduceOnPlateau: halves after more than `patience` epochs without relative improvement, floor, cooldown', () => {
    const lr = reduceOnPlateau(1, {
      factor: 0.5,
      patience: 2,
      threshold: 0.1,
      minLearningRate: 0.2,
      cooldown: 1,
    });
    const seen: number[] = [];
    // 10 → 9.5 (not 10 % better) → 9.4 → 9.3: third bad epoch > patience 2 → 0.5
    // then one cooldown epoch that does not count; 8.9 < best 10·0.9 is an improvement
    for (const loss of [10, 9.5, 9.4, 9.3, 9.2, 9.1, 9, 8.9, 1, 1, 1, 1, 1, 1, 1, 1]) {
      lr.observe?.(loss, at(0));
      seen.push(lr(at(0)));
    }
    expect(seen).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]);
    const copy = reduceOnPlateau(1, {
      factor: 0.5,
      patience: 2,
      threshold: 0.1,
      minLearningRate: 0.2,
      cooldown: 1,
    });
    copy.restore?.(JSON.parse(JSON.stringify(lr.state?.())));
    expect(copy(at(0))).toBe(0.2);
    expect(() => copy.restore?.({ learningRate: 'x' })).toThrow(ConfigError);
    expect(() => reduceOnPlateau(1, { factor: 1 })).toThrow(/factor/);
  });

  it('a trainer applies them before every step; fit feeds reduceOnPlateau; its state travels in checkpoints', async () => {
    const batch = padded(ringSets([5, 4], 3));
    const model = new DeepSetsAutoencoder({ dim: 2, hidden: 8, maxSize: 5 });
    const trainer = new Trainer(model, {
      learningRate: linearDecay(0.01, { totalEpochs: 2 }),
      lossWeights: [linearWarmup('kl', 1, 2), linearWarmup('other', 3, 0)],
    });
    const steps = [0, 0.5, 1, 1.5].map((epoch) => {
      trainer.setEpoch(epoch);
      return trainer.trainStep(batch);
    });
    expect(steps.map((s) => s.learningRate)).toEqual([0.01, 0.01, 0.01, 0.005]);
    expect(steps.map((s) => s.weights)).toEqual([
      { kl: 0, other: 3 },
      { kl: 0.25, other: 3 },
      { kl: 0.5, other: 3 },
      { kl: 0.75, other: 3 },
    ]);
    trainer.dispose();
    // the model's own plan, through fit: a plateau at patience 0 halves the LR after every flat epoch
    class Plateau extends DeepSetsAutoencoder {
      static override readonly className = 'PlateauAutoencoder';
      override trainingPlan() {
        return { learningRate: reduceOnPlateau(0.01, { patience: 0, threshold: 10 }) };
      }
    }
    const plateau = new Plateau({ dim: 2, hidden: 8, maxSize: 5 });
    const rates: number[] = [];
    await plateau.fit([batch], { epochs: 3, onProgress: (p) => void rates.push(p.learningRate) });
    expect(rates).toEqual([0.01, 0.005, 0.0025]);
    const saved: tf.io.ModelArtifacts[] = [];
    await saveModel(plateau, {
      save: async (a) => {
        saved.push(a);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      },
    });
    const restored = await loadModel({ load: async () => saved[0] }, Plateau);
    expect(trainerOf(restored).learningRate).toBe(0.00125);
    tf.dispose([batch.x, batch.mask]);
    plateau.dispose();
    restored.dispose();
    model.dispose();
  });
}, ['cpu']);
