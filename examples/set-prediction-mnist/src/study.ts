// One run of the study: build a model (DSPN or TSPN, a creation method or a baseline decoder),
// train it, score it on training and held-out digits, keep its curve.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { batches, type SetDataset } from '@setgen/data';
import {
  type CreationKind,
  DSPN,
  type DSPNDecoder,
  loadModel,
  type SetModel,
  TSPN,
} from '@setgen/models/node';
import * as tf from '@tensorflow/tfjs-core';

export interface RunSpec {
  model: 'dspn' | 'tspn';
  /** Creation of the initial set, or (DSPN) a baseline decoder. */
  creation: CreationKind | 'mlp-decoder' | 'lstm-decoder';
  seed: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  /** Model widths: DSPN hidden/latent, TSPN encoder/transformer. */
  width: number;
  latentDim: number;
  maxSize: number;
  /** DSPN inner learning rate η. */
  innerLearningRate: number;
  /** Drop each epoch's last partial batch (default: the model's `dropLast`, DSPN true, TSPN false). */
  dropLast?: boolean;
}

export interface RunResult {
  spec: RunSpec;
  /** Mean loss term over the scored digits (the model's own convention, see README). */
  train: Record<string, number>;
  test: Record<string, number>;
  /** Per step: the total loss, the Chamfer term (TSPN's total adds the size CE), seconds since the start. */
  curve: { step: number; total: number; chamfer?: number; seconds: number }[];
  seconds: number;
  params: number;
  /**
   * How DSPN's inner loss reduced over the scoring batches of 100 (`innerLossReduction`):
   * runs scored before 'fixed-batch' existed took inner steps 32/100 of the training ones;
   * `--rescore` scores them again from their checkpoints.
   */
  scoredWith?: string;
}

export function buildModel(spec: RunSpec): DSPN | TSPN {
  if (spec.model === 'dspn') {
    const decoder: DSPNDecoder =
      spec.creation === 'mlp-decoder' ? 'mlp' : spec.creation === 'lstm-decoder' ? 'lstm' : 'inner-loop';
    return new DSPN({
      ...DSPN.presets.setMnist,
      maxSize: spec.maxSize,
      hiddenUnits: spec.width,
      latentDim: spec.latentDim,
      decoder,
      innerLearningRate: spec.innerLearningRate,
      ...(decoder === 'inner-loop' ? { creation: spec.creation as CreationKind } : {}),
      learningRate: spec.learningRate,
      batchSize: spec.batchSize,
      ...(spec.dropLast === undefined ? {} : { dropLast: spec.dropLast }),
      seed: spec.seed,
    });
  }
  return new TSPN({
    ...TSPN.presets.setMnist,
    maxSize: spec.maxSize,
    encoderHiddenUnits: spec.width,
    latentDim: spec.latentDim,
    modelDim: spec.width,
    creation: spec.creation as CreationKind,
    learningRate: spec.learningRate,
    batchSize: spec.batchSize,
    ...(spec.dropLast === undefined ? {} : { dropLast: spec.dropLast }),
    seed: spec.seed,
  });
}

/**
 * The training data as `fit` takes it: a factory of shuffled epochs (seed `seed·1000 + epoch`)
 * batched as the model's config says (`batchSize`, `dropLast`), with `stepsPerEpoch`.
 */
export function trainingBatches(model: DSPN | TSPN, sets: SetDataset['sets'], seed: number) {
  const { batchSize, dropLast } = model.config;
  const epochs = (e: number) => batches(sets, { batchSize, dropLast, shuffle: true, seed: seed * 1000 + e });
  const stepsPerEpoch = dropLast ? Math.floor(sets.length / batchSize) : Math.ceil(sets.length / batchSize);
  return Object.assign(epochs, { stepsPerEpoch });
}

/** Mean of every loss term over `data` (batches of 100, fixed noise seed). */
export async function score(model: SetModel, data: SetDataset): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  let count = 0;
  for await (const batch of batches(data.sets, { batchSize: 100, shuffle: false })) {
    const b = batch.x.shape[0];
    const terms = model.loss(batch, { seed: 7 });
    for (const [k, v] of Object.entries(terms)) sums[k] = (sums[k] ?? 0) + v.dataSync()[0] * b;
    tf.dispose([batch.x, batch.mask as tf.Tensor, ...Object.values(terms)]);
    count += b;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / count]));
}

/** The run's name: `<model>-<creation>-s<seed>`. */
export function runName(spec: RunSpec): string {
  return `${spec.model}-${spec.creation}-s${spec.seed}`;
}

/**
 * Trains (resuming from `<dir>/<run>/` when a checkpoint is there; checkpoints every 20
 * steps and at the end), then scores on training and held-out digits.
 */
export async function runOne(
  spec: RunSpec,
  data: { train: SetDataset; trainScore: SetDataset; test: SetDataset },
  dir: string,
  log: (line: string) => void,
): Promise<{ result: RunResult; model: DSPN | TSPN }> {
  const checkpoint = join(dir, runName(spec));
  const model = existsSync(join(checkpoint, 'model.json'))
    ? ((await loadModel(checkpoint)) as DSPN | TSPN)
    : buildModel(spec);
  const curve: RunResult['curve'] = [];
  const start = performance.now();
  await model.fit(trainingBatches(model, data.train.sets, spec.seed), {
    epochs: 1e6,
    steps: Math.max(0, spec.steps - model.step),
    checkpoint: { to: checkpoint, everySteps: 20 },
    onProgress: ({ step, losses }) => {
      const seconds = (performance.now() - start) / 1000;
      curve.push({ step, total: losses.total, chamfer: losses.chamfer, seconds });
      if (step % 25 === 0 || step === spec.steps) {
        log(`${runName(spec)} step ${step} ${JSON.stringify(losses)} ${seconds.toFixed(0)} s`);
      }
    },
  });
  const train = await score(model, data.trainScore);
  const test = await score(model, data.test);
  const seconds = (performance.now() - start) / 1000;
  const result = {
    spec,
    train,
    test,
    curve,
    seconds,
    params: model.countParams(),
    scoredWith: scoring(model),
  };
  return { result, model };
}

/** `scoredWith` of a model: DSPN's inner-loss reduction, '' for TSPN. */
function scoring(model: DSPN | TSPN): string {
  return model instanceof DSPN ? model.config.innerLossReduction : '';
}

/** Whether a finished run must be scored again (a DSPN inner loop scored with the batch mean). */
export function needsRescore(result: RunResult): boolean {
  const innerLoop = result.spec.model === 'dspn' && !result.spec.creation.endsWith('-decoder');
  return innerLoop && result.scoredWith !== 'fixed-batch';
}

/** Scores a finished run again from its checkpoint `<dir>/<run>/` (training and curve kept). */
export async function rescore(
  result: RunResult,
  data: { trainScore: SetDataset; test: SetDataset },
  dir: string,
): Promise<RunResult> {
  const model = (await loadModel(join(dir, runName(result.spec)))) as DSPN | TSPN;
  try {
    const train = await score(model, data.trainScore);
    const test = await score(model, data.test);
    return { ...result, train, test, scoredWith: scoring(model) };
  } finally {
    model.dispose();
  }
}
