// The page of src/browser.test.ts: SetVAE on wasm, cpu, webgl and webgpu in one Chromium page
// — a few seeded training steps from the same initial weights, then sampling, reconstruction
// and the encoder's attention — compared with wasm by the Node side.

import type { SetBatch } from '@setgen/ops';
import {
  type BrowserCase,
  type CaseOutput,
  publishResults,
  runOnBackends,
} from '@setgen/testkit/browser-page';
import { randomSet } from '@setgen/testkit/sets';
import * as tf from '@tensorflow/tfjs-core';
import { SetVAE, type SetVAEConfig } from '../src/index.js';

const SIZES = [10, 7, 4];
const N = 10;
const STEPS = 2;

/** A two-level SetVAE small enough for SwiftShader: every part of the model, few units. */
const CONFIG: SetVAEConfig = {
  inputDim: 2,
  hiddenDim: 8,
  numHeads: 2,
  latentDim: 2,
  inducingPoints: [2, 4],
  initialSetDim: 4,
  mixtureComponents: 2,
  beta: 0.01,
  klWarmupEpochs: 0,
  learningRate: 1e-3,
  seed: 3,
};

/** Points in the unit square (the model's output range), NaN in the padding. */
function paddedBatch(): SetBatch {
  return tf.tidy(() => {
    const mask = tf.tensor2d(SIZES.map((s) => Array.from({ length: N }, (_, i) => (i < s ? 1 : 0))));
    const points = tf.add(tf.mul(randomSet(5, [SIZES.length, N, 2]), 0.4), 0.5);
    const x = tf.where(tf.cast(tf.expandDims(mask, 2), 'bool'), points, tf.fill(points.shape, Number.NaN));
    return { x: tf.keep(x) as tf.Tensor3D, mask: tf.keep(mask) };
  });
}

interface Training {
  model: SetVAE;
  batch: SetBatch;
  first: Record<string, number>;
}

const lossesOf = (losses: Record<string, number>, prefix: string): CaseOutput =>
  Object.fromEntries(Object.entries(losses).map(([k, v]) => [`${prefix}.${k}`, v]));

const cases: BrowserCase<any>[] = [
  {
    // the first step creates Adam's moments, so the leak count covers the steps after it
    name: `SetVAE ${STEPS + 1} training steps`,
    setup: (): Training => {
      const model = new SetVAE(CONFIG);
      const batch = paddedBatch();
      return { model, batch, first: model.trainStep(batch).losses };
    },
    setupValues: ({ first }: Training) => lossesOf(first, 'step1'),
    run: ({ model, batch }: Training) => {
      let out: CaseOutput = {};
      for (let step = 2; step <= STEPS + 1; step++)
        out = { ...out, ...lossesOf(model.trainStep(batch).losses, `step${step}`) };
      // every weight after training shows in a seeded sample
      const { x, mask, ...rest } = model.sample([6, 3], { seed: 1 });
      tf.dispose(rest as unknown as tf.TensorContainer);
      return { ...out, sample: x, sampleMask: mask };
    },
    teardown: ({ model, batch }: Training) => {
      model.dispose();
      tf.dispose([batch.x, batch.mask!]);
    },
  },
  {
    name: 'SetVAE sample, reconstruct, encode (fresh weights)',
    setup: () => ({ model: new SetVAE(CONFIG), batch: paddedBatch() }),
    run: ({ model, batch }: { model: SetVAE; batch: SetBatch }) => {
      const sample = model.sample([12, 5], { seed: 2, temperature: 0.7 });
      const recon = model.reconstruct(batch, { seed: 4 });
      const encoding = model.encode(batch);
      const out: CaseOutput = { sample: sample.x, sampleMask: sample.mask, recon: recon.x };
      sample.attention.forEach((a, l) => {
        out[`sampleAttention${l}`] = a.attention;
      });
      sample.levels.forEach((level, l) => {
        out[`sampleZ${l}`] = level.z;
      });
      recon.levels.forEach((level, l) => {
        out[`reconKl${l}`] = level.kl;
      });
      // the rest of the outputs, disposed here (tf.dispose walks nested objects)
      tf.dispose([
        sample.levels.map(({ z, ...rest }) => rest),
        recon.levels.map(({ kl, ...rest }) => rest),
        recon.attention,
        recon.mask,
        encoding.features,
      ] as unknown as tf.TensorContainer);
      encoding.attention.forEach((a, l) => {
        out[`encoderAttention${l}`] = a;
      });
      return out;
    },
    teardown: ({ model, batch }: { model: SetVAE; batch: SetBatch }) => {
      model.dispose();
      tf.dispose([batch.x, batch.mask!]);
    },
  },
];

publishResults(runOnBackends(cases));
