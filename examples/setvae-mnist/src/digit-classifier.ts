// A point-set digit classifier built from @setgen/layers (the Set Transformer classifier:
// per-point MLP → ISAB_m × L → PMA_k → FC), used to score generated sets without eyes. It has an
// 11th output, "not a digit", trained on uniform noise and Gaussian blobs, so that a blob
// is not forced into a digit class. For Set-MultiMNIST, PMA has k = 2 seeds: seed 0 reads
// the left digit, seed 1 the right one (the canvases put digit 1 left, digit 2 right).

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SetDataset } from '@setgen/data';
import { denseProjection, InducedSetAttentionBlock, PoolingByMultiheadAttention } from '@setgen/layers';
import { constantLearningRate, type LearningRateSchedule, linearDecay, ScheduledAdam } from '@setgen/models';
import { ConfigError, DataError, type HostSet, Random } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';

/** 10 digits and "not a digit". */
export const NUM_CLASSES = 11;
export const NOT_A_DIGIT = 10;

export interface DigitClassifierConfig {
  /** Width d of every block. */
  hiddenDim: number;
  numHeads: number;
  /** Inducing points m of each ISAB. */
  inducingPoints: number;
  /** Number L of ISABs (0: the per-point MLP straight into PMA). */
  blocks: number;
  /** MAB form (layers' `variant`): 'set-transformer' (the Set Transformer classifier) or 'setvae'. */
  variant: 'set-transformer' | 'setvae';
  /** Every set is read as a random subset of this many points (with repeats if it has fewer). */
  points: number;
  seed: number;
}

/** The shipped classifier's architecture (train-classifier.ts). */
export const CLASSIFIER_CONFIG: DigitClassifierConfig = {
  hiddenDim: 64,
  numHeads: 4,
  inducingPoints: 16,
  blocks: 2,
  variant: 'setvae',
  points: 100,
  seed: 7,
};

/** The shipped Set-MNIST classifier (trained by train-classifier.ts), next to `dist/`. */
export const CLASSIFIER_DIR = fileURLToPath(new URL('../classifiers/set-mnist', import.meta.url));

/** `k` points of `set`: a random subset, or every point plus random repeats when n < k. */
export function resample(set: HostSet, k: number, seed: number): HostSet {
  const random = new Random(seed);
  const order = random.shuffle(Array.from({ length: set.n }, (_, i) => i));
  while (order.length < k) order.push(random.int(set.n));
  const values = new Float32Array(k * set.d);
  for (let i = 0; i < k; i++)
    values.set(set.values.subarray(order[i] * set.d, (order[i] + 1) * set.d), i * set.d);
  return { values, n: k, d: set.d };
}

/** Equal-size 2-D sets → `[B, k, 2]`. */
function stack(sets: HostSet[], k: number): tf.Tensor3D {
  const values = new Float32Array(sets.length * k * 2);
  sets.forEach((s, i) => {
    values.set(s.values.subarray(0, k * 2), i * k * 2);
  });
  return tf.tensor3d(values, [sets.length, k, 2]);
}

let instances = 0;

export class DigitClassifier {
  readonly config: DigitClassifierConfig;
  private readonly inputKernel: tf.Variable;
  private readonly inputBias: tf.Variable;
  private readonly pointKernel: tf.Variable;
  private readonly pointBias: tf.Variable;
  private readonly blocks: InducedSetAttentionBlock[];
  private readonly pool: PoolingByMultiheadAttention;
  private readonly outputKernel: tf.Variable;
  private readonly outputBias: tf.Variable;

  constructor(config: DigitClassifierConfig) {
    for (const key of ['hiddenDim', 'numHeads', 'inducingPoints', 'blocks', 'points'] as const) {
      const min = key === 'blocks' ? 0 : 1;
      if (!(Number.isInteger(config[key]) && config[key] >= min)) {
        throw new ConfigError(`config.${key}: expected an integer >= ${min}, got ${config[key]}`);
      }
    }
    this.config = { ...config };
    const { hiddenDim: d, numHeads, seed } = config;
    const random = new Random(seed);
    const id = `digit-classifier${++instances}`;
    const dense = (fanIn: number, units: number, name: string) => {
      const bound = 1 / Math.sqrt(fanIn);
      const draw = (n: number) => Float32Array.from({ length: n }, () => random.uniform(-bound, bound));
      // tf.variable shares the initial value's data: dispose the initial tensors (no leak)
      return tf.tidy(() => [
        tf.variable(tf.tensor2d(draw(fanIn * units), [fanIn, units]), true, `${name}/kernel`),
        tf.variable(tf.tensor1d(draw(units)), true, `${name}/bias`),
      ]);
    };
    [this.inputKernel, this.inputBias] = dense(2, d, `${id}/input`);
    [this.pointKernel, this.pointBias] = dense(d, d, `${id}/point`);
    const block = { units: d, numHeads, variant: config.variant, layerNorm: true };
    this.blocks = Array.from(
      { length: config.blocks },
      (_, i) =>
        new InducedSetAttentionBlock({
          ...block,
          numInducingPoints: config.inducingPoints,
          seed: seed + 1000 * (i + 1),
        }),
    );
    this.pool = new PoolingByMultiheadAttention({
      ...block,
      numSeeds: 1,
      seed: seed + 9000,
    });
    for (const layer of [...this.blocks, this.pool]) layer.build([null, null, d]);
    [this.outputKernel, this.outputBias] = dense(d, NUM_CLASSES, `${id}/output`);
  }

  /** Every weight, in a fixed order (save / load follow it). */
  get variables(): tf.Variable[] {
    return [
      this.inputKernel,
      this.inputBias,
      this.pointKernel,
      this.pointBias,
      ...[...this.blocks, this.pool].flatMap((layer) =>
        layer.trainableWeights.map((w) => w.read() as tf.Variable),
      ),
      this.outputKernel,
      this.outputBias,
    ];
  }

  /** `x [B, N, 2]` → logits `[B, 1, 11]`. */
  logits(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      // the unit square centred and spread to about ±2 before the input FC
      const centred = tf.mul(tf.sub(x, 0.5), 4) as tf.Tensor3D;
      // rFF(x): a two-layer per-point MLP, so that attention sees non-linear features of position
      const features = denseProjection(centred, this.inputKernel, { bias: this.inputBias, relu: true });
      let h = denseProjection(features, this.pointKernel, { bias: this.pointBias }) as tf.Tensor3D;
      for (const isab of this.blocks) {
        const { out, h: projected } = isab.forward(h);
        projected.dispose();
        h = out;
      }
      const pooled = this.pool.pool(h).out;
      return denseProjection(pooled, this.outputKernel, { bias: this.outputBias }) as tf.Tensor3D;
    });
  }

  /**
   * Class probabilities of each set, `[sets, 11]` row-major.
   * Each set is read as `config.points` of its points (a seeded random subset).
   */
  predict(sets: readonly HostSet[], { seed = 0, chunk = 100 } = {}): Float32Array {
    const result = new Float32Array(sets.length * NUM_CLASSES);
    sets.forEach((s, i) => {
      if (!(s && s.d === 2 && s.n >= 1 && s.values.length >= 2 * s.n)) {
        throw new DataError(`sets[${i}]: expected a non-empty 2-D point set, got n=${s?.n}, d=${s?.d}`);
      }
    });
    for (let start = 0; start < sets.length; start += chunk) {
      const part = sets
        .slice(start, start + chunk)
        .map((s, i) => resample(s, this.config.points, seed + start + i));
      const probs = tf.tidy(() => tf.softmax(this.logits(stack(part, this.config.points))));
      result.set(probs.dataSync(), start * NUM_CLASSES);
      probs.dispose();
    }
    return result;
  }

  async save(dir: string, info: Record<string, unknown> = {}): Promise<void> {
    await mkdir(dir, { recursive: true });
    const variables = this.variables;
    const data = variables.map((v) => v.dataSync() as Float32Array);
    const bytes = new Float32Array(data.reduce((n, a) => n + a.length, 0));
    let offset = 0;
    for (const a of data) {
      bytes.set(a, offset);
      offset += a.length;
    }
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(bytes.buffer));
    const manifest = {
      format: 'setgen-digit-classifier/1',
      config: this.config,
      shapes: variables.map((v) => v.shape),
      ...info,
    };
    await writeFile(join(dir, 'classifier.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  static async load(dir: string): Promise<DigitClassifier> {
    const manifest = JSON.parse(await readFile(join(dir, 'classifier.json'), 'utf8'));
    if (manifest.format !== 'setgen-digit-classifier/1') {
      throw new DataError(
        `${dir}/classifier.json: not a setgen digit classifier (format ${manifest.format})`,
      );
    }
    const model = new DigitClassifier(manifest.config);
    const buffer = await readFile(join(dir, 'weights.bin'));
    const values = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
    const variables = model.variables;
    const sizes = variables.map((v) => v.size);
    if (sizes.reduce((a, b) => a + b, 0) !== values.length) {
      model.dispose();
      throw new DataError(
        `${dir}/weights.bin: ${values.length} floats, the config needs ${sizes.reduce((a, b) => a + b, 0)}`,
      );
    }
    let offset = 0;
    variables.forEach((v, i) => {
      const value = tf.tensor(values.slice(offset, offset + sizes[i]), v.shape);
      v.assign(value);
      value.dispose(); // the variable keeps its own reference to the data
      offset += sizes[i];
    });
    return model;
  }

  dispose(): void {
    tf.dispose([
      this.inputKernel,
      this.inputBias,
      this.pointKernel,
      this.pointBias,
      this.outputKernel,
      this.outputBias,
    ]);
    for (const w of [...this.blocks, this.pool].flatMap((layer) => layer.weights)) w.dispose();
  }
}

// ------------------------------------------------------------------ "not a digit" sets

/** Uniform noise in the unit square, or a Gaussian blob of digit size (random axes and angle). */
export function notADigit(points: number, random: Random): HostSet {
  const values = new Float32Array(points * 2);
  const clip = (v: number) => Math.min(0.999, Math.max(0, v));
  if (random.next() < 0.3) {
    for (let i = 0; i < values.length; i++) values[i] = random.next();
  } else {
    const [cx, cy] = [random.uniform(0.35, 0.65), random.uniform(0.35, 0.65)];
    const [sx, sy] = [random.uniform(0.05, 0.2), random.uniform(0.05, 0.2)];
    const angle = random.uniform(0, Math.PI);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    for (let i = 0; i < points; i++) {
      const [u, v] = [random.normal() * sx, random.normal() * sy];
      values[2 * i] = clip(cx + c * u - s * v);
      values[2 * i + 1] = clip(cy + s * u + c * v);
    }
  }
  return { values, n: points, d: 2 };
}

/**
 * A Set-MultiMNIST canvas (64 px, digit 1 in the left half, digit 2 in the right) as two
 * Set-MNIST-like digits: the points of each half, scaled by 64/28 about their centre of mass,
 * which goes to the centre (MNIST centres digits by mass in the 28-px frame). A half without
 * points becomes one point at the centre (read as "not a digit").
 */
export function splitCanvas(set: HostSet): [HostSet, HostSet] {
  const halves = [0, 1].map((half) => {
    const kept: number[] = [];
    for (let i = 0; i < set.n; i++) {
      const x = set.values[2 * i];
      if (x < 0.5 === (half === 0)) kept.push(x, set.values[2 * i + 1]);
    }
    const n = kept.length / 2;
    if (n === 0) return { values: Float32Array.from([0.5, 0.5]), n: 1, d: 2 };
    let [cx, cy] = [0, 0];
    for (let i = 0; i < n; i++) [cx, cy] = [cx + kept[2 * i] / n, cy + kept[2 * i + 1] / n];
    const scale = 64 / 28;
    const values = Float32Array.from(kept, (v, k) => (v - (k % 2 === 0 ? cx : cy)) * scale + 0.5);
    return { values, n, d: 2 };
  });
  return [halves[0], halves[1]];
}

/**
 * A digit drawn slightly differently: rotated by up to ±0.2 rad, scaled by 0.9–1.1 and shifted
 * by up to ±0.04 about the frame's centre (coordinates clipped to the unit square), so that the
 * classifier learns the shape, not the 8,000 training digits' exact pixels.
 */
export function augmentDigit(set: HostSet, random: Random): HostSet {
  const angle = random.uniform(-0.2, 0.2);
  const scale = random.uniform(0.9, 1.1);
  const [c, s] = [scale * Math.cos(angle), scale * Math.sin(angle)];
  const [tx, ty] = [random.uniform(-0.04, 0.04), random.uniform(-0.04, 0.04)];
  const clip = (v: number) => Math.min(0.999, Math.max(0, v));
  const values = new Float32Array(set.n * 2);
  for (let i = 0; i < set.n; i++) {
    const [u, v] = [set.values[2 * i] - 0.5, set.values[2 * i + 1] - 0.5];
    values[2 * i] = clip(0.5 + tx + c * u - s * v);
    values[2 * i + 1] = clip(0.5 + ty + s * u + c * v);
  }
  return { values, n: set.n, d: 2 };
}

// ------------------------------------------------------------------ training

/**
 * The classifier's learning-rate factor against the training position: 1, then linear to 0
 * over the last `decayFraction` of `epochs` (the models runtime's `linearDecay` of a base rate
 * of 1; the last step still moves); constant with `decayFraction` 0.
 */
export function classifierSchedule(epochs: number, decayFraction: number): LearningRateSchedule {
  return decayFraction > 0
    ? linearDecay(1, { totalEpochs: epochs, after: 1 - decayFraction })
    : constantLearningRate(1);
}

export interface ClassifierTrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Fraction of each batch replaced by "not a digit" examples. */
  junkFraction: number;
  /**
   * Fraction of the steps at the end over which the learning rate falls linearly to 0
   * (0: constant, the first shipped classifier; 1: from the first step).
   */
  decayFraction?: number;
  /** Train on randomly rotated, scaled and shifted digits (`augmentDigit`). */
  augment?: boolean;
  /** Seed of the shuffles, subsets and junk; default config.seed + 1 (use another to continue training). */
  seed?: number;
  onEpoch?: (epoch: number, loss: number, seconds: number) => void | Promise<void>;
}

/**
 * Adam on softmax cross-entropy; each epoch sees every digit once as a fresh random subset of
 * `points` points (optionally augmented), and a `junkFraction` of every batch is replaced by
 * "not a digit" examples (noise / blobs); the learning rate is constant, then falls linearly to
 * 0 over the last `decayFraction` of the steps. Seeded: the same config and options give the
 * same weights on one backend.
 */
export async function trainDigitClassifier(
  model: DigitClassifier,
  data: SetDataset,
  {
    epochs,
    batchSize,
    learningRate,
    junkFraction,
    decayFraction = 0,
    augment = false,
    seed: dataSeed,
    onEpoch,
  }: ClassifierTrainOptions,
): Promise<void> {
  const { points, seed } = model.config;
  const labels = data.labels;
  if (!labels || labels.length !== data.sets.length) {
    throw new DataError(`data.labels: expected one label per set, got ${labels?.length ?? 'none'}`);
  }
  if (!(decayFraction >= 0 && decayFraction <= 1)) {
    throw new ConfigError(`decayFraction: expected a number in [0, 1], got ${decayFraction}`);
  }
  const random = new Random(dataSeed ?? seed + 1);
  const optimizer = new ScheduledAdam(learningRate);
  const variables = model.variables;
  const perEpoch = Math.ceil(data.sets.length / batchSize);
  const schedule = epochs > 0 ? classifierSchedule(epochs, decayFraction) : null;
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const t0 = performance.now();
    const order = random.shuffle(Array.from({ length: data.sets.length }, (_, i) => i));
    let total = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const rows = order.slice(start, start + batchSize);
      const sets: HostSet[] = [];
      const target = new Int32Array(rows.length);
      rows.forEach((index, b) => {
        let set = augment ? augmentDigit(data.sets[index], random) : data.sets[index];
        target[b] = labels[index];
        if (random.next() < junkFraction) {
          set = notADigit(points, random);
          target[b] = NOT_A_DIGIT;
        }
        sets.push(resample(set, points, random.int(2 ** 30)));
      });
      optimizer.setScheduleFactor(schedule?.({ step, epoch: step / perEpoch }) ?? 1);
      step++;
      const loss = tf.tidy(() => {
        const x = stack(sets, points);
        const y = tf.oneHot(tf.tensor1d(target, 'int32'), NUM_CLASSES);
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, tf.reshape(model.logits(x), [-1, NUM_CLASSES])) as tf.Scalar,
          variables,
        );
        optimizer.applyGradients(
          grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0],
        );
        return value;
      });
      total += loss.dataSync()[0];
      loss.dispose();
      batches++;
      if (batches % 8 === 0) await tf.nextFrame();
    }
    await onEpoch?.(epoch + 1, total / batches, (performance.now() - t0) / 1000);
  }
  optimizer.dispose();
}

/** Fraction of sets whose argmax is the true digit. */
export function accuracy(probabilities: Float32Array, labels: Int32Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let top = 0;
    for (let c = 1; c < NUM_CLASSES; c++) {
      if (probabilities[i * NUM_CLASSES + c] > probabilities[i * NUM_CLASSES + top]) top = c;
    }
    if (top === labels[i]) right++;
  }
  return right / labels.length;
}
