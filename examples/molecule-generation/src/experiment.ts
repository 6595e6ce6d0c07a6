// The Top-n paper's molecule-like experiment (§5.3, Table 4; App. D.2) at a scale this machine
// allows: train one-shot set VAEs with each creation method and several seeds on synthetic
// molecule-like 3-D sets, then generate sets and score them (valency, diversity, extrapolation).
// Each run lives in its own directory (config, log, checkpoint, result) and resumes from its
// checkpoint (the models runtime's), so a long study can be stopped and restarted.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticMolecules, toSetBatch } from '@setgen/data';
import { type CreationMethod, OneShotSetVAE, type OneShotSetVAEConfig } from '@setgen/models/node';
import { earthMoversDistance, type HostSet, Random } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';

/** Scale of a study (the paper: 2000/500 sets, 10000 epochs, lr 2e-4, patience 750). */
export interface StudyScale {
  trainSets: number;
  testSets: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Reduce-on-plateau patience in epochs. */
  patience: number;
  /**
   * Penalty schedule, as fractions of the epochs: the penalty weights (minDistance, valency)
   * are 0 before `penaltyRamp[0]`, ramp linearly to the reference's 200 at `penaltyRamp[1]`,
   * and stay there ([0, 0] = the reference: full weight from the start). At ~1/100 of the
   * reference's steps, penalties from step 0 leave the reconstruction untrained (each set's
   * penalty sums over its pairs and starts ~10× the W loss even at weight 1).
   */
  penaltyRamp: [number, number];
  /** Sets generated for the generation and extrapolation metrics (paper: 1000). */
  generated: number;
  /** Model size overrides (the reference's widths by default). */
  model: Partial<OneShotSetVAEConfig>;
  /** Largest generated training set (the generator's default 35; Table 6's dataset: 11). */
  maxSize?: number;
}

export const SCALES: Record<'smoke' | 'quick' | 'study', StudyScale> = {
  /** For the example's test: seconds. */
  smoke: {
    trainSets: 24,
    testSets: 8,
    epochs: 2,
    batchSize: 16,
    learningRate: 1e-3,
    patience: 5,
    penaltyRamp: [0.3, 0.6],
    generated: 8,
    model: {
      hiddenDim: 8,
      numHeads: 2,
      mlpHidden: 8,
      encoderBlocks: 1,
      decoderBlocks: 1,
      latentDim: 4,
      setChannels: 4,
    },
  },
  quick: {
    trainSets: 200,
    testSets: 50,
    epochs: 15,
    batchSize: 64,
    learningRate: 1e-3,
    patience: 5,
    penaltyRamp: [0.3, 0.6],
    generated: 200,
    model: { hiddenDim: 32, mlpHidden: 64, encoderBlocks: 2, decoderBlocks: 2 },
  },
  study: {
    trainSets: 600,
    testSets: 200,
    epochs: 50,
    batchSize: 64,
    learningRate: 1e-3,
    patience: 10,
    penaltyRamp: [0.3, 0.6],
    generated: 1000,
    model: { hiddenDim: 32, mlpHidden: 64, encoderBlocks: 2, decoderBlocks: 2 },
  },
};

export interface MoleculeData {
  train: HostSet[];
  test: HostSet[];
  /** Training valencies, normalised, index = valency (0..4). */
  valencyHistogram: number[];
  /** Training set sizes, counts, index = size. */
  sizeHistogram: number[];
}

/** Training sets (seed 0, as the reference generator) and test sets (seed 1), positions + one-hot valency. */
export function moleculeData(scale: Pick<StudyScale, 'trainSets' | 'testSets' | 'maxSize'>): MoleculeData {
  const { maxSize } = scale;
  const train = syntheticMolecules({ numSets: scale.trainSets, seed: 0, oneHotValency: true, maxSize });
  const test = syntheticMolecules({ numSets: scale.testSets, seed: 1, oneHotValency: true, maxSize });
  const counts = [0, 0, 0, 0, 0];
  for (const v of train.valencies) for (const k of v) counts[k]++;
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    train: train.sets,
    test: test.sets,
    valencyHistogram: counts.map((c) => c / total),
    sizeHistogram: OneShotSetVAE.sizeHistogram(train.sets),
  };
}

/** Positions only (`[n, 3]`) of a set with features. */
export function positions(set: HostSet): HostSet {
  const values = new Float32Array(set.n * 3);
  for (let i = 0; i < set.n; i++) values.set(set.values.subarray(i * set.d, i * set.d + 3), i * 3);
  return { values, n: set.n, d: 3 };
}

/**
 * Batches of sets of similar size: sorted by size (ties in a shuffled order), cut into
 * `batchSize` chunks, chunks shuffled. Little padding, and the masks make padding harmless.
 */
export function sizeSortedBatches(sets: readonly HostSet[], batchSize: number, random: Random): number[][] {
  const order = sets.map((s, i) => ({ i, n: s.n, key: random.next() }));
  order.sort((a, b) => a.n - b.n || a.key - b.key);
  const chunks: number[][] = [];
  for (let k = 0; k < order.length; k += batchSize)
    chunks.push(order.slice(k, k + batchSize).map((o) => o.i));
  for (let k = chunks.length - 1; k > 0; k--) {
    const j = random.int(k + 1);
    [chunks[k], chunks[j]] = [chunks[j], chunks[k]];
  }
  return chunks;
}

/** Host sets from a decoded padded batch. */
export function hostSets(batch: { x: tf.Tensor3D; mask?: tf.Tensor2D }): HostSet[] {
  const [b, n, d] = batch.x.shape;
  const x = batch.x.dataSync();
  const m = batch.mask ? batch.mask.dataSync() : new Float32Array(b * n).fill(1);
  return Array.from({ length: b }, (_, s) => {
    let size = 0;
    while (size < n && m[s * n + size] === 1) size++;
    return { values: Float32Array.from(x.subarray(s * n * d, (s * n + size) * d)), n: size, d };
  });
}

/** Mean per-set W1 (exact assignment, Euclidean, mean over pairs) of μ-reconstructions. */
export function reconstructionDistance(
  model: OneShotSetVAE,
  sets: readonly HostSet[],
  batchSize: number,
): number {
  let total = 0;
  const sorted = [...sets].sort((a, b) => a.n - b.n);
  for (let k = 0; k < sorted.length; k += batchSize) {
    const chunk = sorted.slice(k, k + batchSize);
    const batch = toSetBatch(chunk);
    const out = model.reconstruct(batch);
    hostSets(out).forEach((rec, i) => {
      total += earthMoversDistance(rec, positions(chunk[i]), { method: 'exact', pointReduction: 'mean' });
    });
    tf.dispose([batch.x, batch.mask, out.x, out.mask]);
  }
  return total / sets.length;
}

/** `count` generated sets (positions), decoded `chunk` at a time. */
export function generate(model: OneShotSetVAE, count: number, seed: number, extraSize = 0): HostSet[] {
  const out: HostSet[] = [];
  const random = new Random(seed);
  for (let k = 0; k < count; k += 100) {
    const batch = model.sample(Math.min(100, count - k), { seed: random.seed(), extraSize });
    out.push(...hostSets(batch));
    tf.dispose([batch.x, batch.mask]);
  }
  return out;
}

export interface RunOptions {
  creation: CreationMethod;
  seed: number;
  scale: StudyScale;
  dir: string;
  log?: (line: string) => void;
}

export interface RunResult {
  creation: CreationMethod;
  seed: number;
  epochs: number;
  seconds: number;
  /** Mean per-set recon term of the last epoch (posterior draws, as the reference's "train W"). */
  trainLoss: number;
  trainW: number;
  testW: number;
  parameters: number;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value));
  renameSync(`${path}.tmp`, path);
}

/**
 * Trains one model with the models runtime (`fit`: Adam, clipping, reduce-on-plateau, the
 * penalty ramp, checkpoints in `dir/checkpoint` every epoch — a restart resumes exactly),
 * then evaluates it: `dir/result.json` and the generated sets in `dir/generated.json`.
 */
export async function runOne(data: MoleculeData, options: RunOptions): Promise<RunResult> {
  const { creation, seed, scale, dir } = options;
  const log = options.log ?? (() => {});
  mkdirSync(dir, { recursive: true });
  const resultPath = join(dir, 'result.json');
  if (existsSync(resultPath)) return JSON.parse(readFileSync(resultPath, 'utf8'));
  const [from, to] = scale.penaltyRamp;
  const config: OneShotSetVAEConfig = {
    ...scale.model,
    creation,
    seed,
    sizeHistogram: data.sizeHistogram,
    learningRate: scale.learningRate,
    plateauPatience: scale.patience,
    epochs: scale.epochs,
    penaltyRamp: [from * scale.epochs, to * scale.epochs],
  };
  writeJson(join(dir, 'config.json'), { config, scale });
  const checkpoint = join(dir, 'checkpoint');
  const model = existsSync(join(checkpoint, 'model.json'))
    ? await OneShotSetVAE.load(checkpoint)
    : new OneShotSetVAE(config);
  if (model.step > 0) log(`${creation}/${seed}: resumed at epoch ${model.epoch.toFixed(2)}`);
  const stepsPerEpoch = Math.ceil(data.train.length / scale.batchSize);
  const epochBatches = Object.assign(
    (epoch: number) =>
      sizeSortedBatches(data.train, scale.batchSize, new Random(seed * 7919 + epoch)).map((indices) =>
        toSetBatch(indices.map((i) => data.train[i])),
      ),
    { stepsPerEpoch },
  );
  let sums: Record<string, number> = {};
  let lastRecon = Number.NaN;
  const started = performance.now();
  await model.fit(epochBatches, {
    epochs: scale.epochs,
    checkpoint: { to: checkpoint, everySteps: stepsPerEpoch },
    onProgress: (p) => {
      for (const [k, v] of Object.entries(p.losses)) sums[k] = (sums[k] ?? 0) + v;
      if (Math.abs(p.epoch - Math.round(p.epoch)) > 1e-9) return;
      // the loss terms are sums over each batch's sets: per set = Σ over the epoch / #sets
      const perSet = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / data.train.length]));
      lastRecon = perSet.recon;
      const line = {
        epoch: Math.round(p.epoch),
        lr: p.learningRate,
        weights: p.weights,
        seconds: (performance.now() - started) / 1000,
        ...perSet,
      };
      writeFileSync(join(dir, 'log.jsonl'), `${JSON.stringify(line)}\n`, { flag: 'a' });
      log(`${creation}/${seed} epoch ${line.epoch}: ${JSON.stringify(perSet)}`);
      sums = {};
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const generated = generate(model, scale.generated, seed + 1000);
  const extrapolated = generate(model, scale.generated, seed + 2000, 10);
  writeJson(join(dir, 'generated.json'), {
    generated: generated.map((s) => ({ n: s.n, values: Array.from(s.values) })),
    extrapolated: extrapolated.map((s) => ({ n: s.n, values: Array.from(s.values) })),
  });
  const result: RunResult = {
    creation,
    seed,
    epochs: model.epoch,
    seconds,
    trainLoss: Number.isNaN(lastRecon) ? lastLoggedRecon(dir) : lastRecon,
    trainW: reconstructionDistance(model, data.train, scale.batchSize),
    testW: reconstructionDistance(model, data.test, scale.batchSize),
    parameters: model.countParams(),
  };
  writeJson(resultPath, result);
  model.dispose();
  return result;
}

function lastLoggedRecon(dir: string): number {
  const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]).recon;
}

/** Generated sets saved by `runOne`. */
export function readGenerated(dir: string): { generated: HostSet[]; extrapolated: HostSet[] } {
  const saved = JSON.parse(readFileSync(join(dir, 'generated.json'), 'utf8'));
  const host = (s: { n: number; values: number[] }) => ({
    n: s.n,
    d: 3,
    values: Float64Array.from(s.values),
  });
  return { generated: saved.generated.map(host), extrapolated: saved.extrapolated.map(host) };
}
