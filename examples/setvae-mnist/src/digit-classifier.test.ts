// The digit classifier and the sample score: a tiny classifier's invariances, leaks and save /
// load; the shipped Set-MNIST classifier reads real digits and refuses noise.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setMnist, setMultiMnist } from '@setgen/data';
import { pickBackend } from '@setgen/example-kit';
import { ConfigError, DataError, type HostSet, Random } from '@setgen/ops';
import { expectClose, expectNoLeak, randomTensor } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  augmentDigit,
  CLASSIFIER_DIR,
  classifierSchedule,
  DigitClassifier,
  type DigitClassifierConfig,
  NOT_A_DIGIT,
  notADigit,
  splitCanvas,
  trainDigitClassifier,
} from './digit-classifier.js';
import { digitScore } from './digit-score.js';
import { mnistImages } from './mnist-images.js';

const TINY: DigitClassifierConfig = {
  hiddenDim: 8,
  numHeads: 2,
  inducingPoints: 4,
  blocks: 1,
  variant: 'setvae',
  points: 12,
  seed: 3,
};

describe('DigitClassifier', () => {
  beforeAll(async () => {
    await pickBackend();
  });

  it('logits are invariant to the order of the points; predict rows are distributions; no leak', async () => {
    const model = new DigitClassifier(TINY);
    const x = randomTensor(1, [3, TINY.points, 2]) as tf.Tensor3D;
    const order = new Random(2).shuffle(Array.from({ length: TINY.points }, (_, i) => i));
    const permuted = tf.gather(x, order, 1) as tf.Tensor3D;
    const a = model.logits(x);
    const b = model.logits(permuted);
    expect(a.shape).toEqual([3, 1, 11]);
    expectClose(Array.from(b.dataSync()), Array.from(a.dataSync()), { atol: 1e-5 });
    const sets: HostSet[] = [0, 1, 2].map((s) => notADigit(5 + 10 * s, new Random(s)));
    await expectNoLeak(() => model.predict(sets, { chunk: 2 }));
    const p = model.predict(sets);
    expect(p.length).toBe(3 * 11);
    for (let row = 0; row < 3; row++) {
      const sum = p.subarray(row * 11, row * 11 + 11).reduce((s, v) => s + v, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    expect(() => model.predict([{ values: new Float32Array(3), n: 1, d: 3 }])).toThrow(DataError);
    tf.dispose([x, permuted, a, b]);
    model.dispose();
  });

  it('save / load round trip gives the same predictions; a wrong file is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'digit-classifier-'));
    try {
      const tensors = tf.memory().numTensors;
      const model = new DigitClassifier(TINY);
      const sets = [notADigit(20, new Random(4))];
      await model.save(dir);
      const loaded = await DigitClassifier.load(dir);
      expect(Array.from(loaded.predict(sets))).toEqual(Array.from(model.predict(sets)));
      model.dispose();
      loaded.dispose();
      // construction, load and dispose leave no tensor behind (initial values, loaded weights)
      expect(tf.memory().numTensors).toBe(tensors);
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(8));
      await expect(DigitClassifier.load(dir)).rejects.toThrow(DataError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a tiny classifier learns digits versus noise in a few steps', async () => {
    const data = setMnist({ split: 'train', seed: 1, limit: 48, images: mnistImages() });
    const model = new DigitClassifier({ ...TINY, hiddenDim: 16, points: 24 });
    const losses: number[] = [];
    await trainDigitClassifier(model, data, {
      epochs: 4,
      batchSize: 16,
      learningRate: 3e-3,
      junkFraction: 0.5,
      onEpoch: (_, loss) => {
        losses.push(loss);
      },
    });
    expect(losses[3]).toBeLessThan(0.9 * losses[0]);
    // a decay fraction outside [0, 1] is refused before any training step
    const tensors = tf.memory().numTensors;
    await expect(
      trainDigitClassifier(model, data, {
        epochs: 1,
        batchSize: 16,
        learningRate: 3e-3,
        junkFraction: 0.5,
        decayFraction: 1.5,
      }),
    ).rejects.toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  }, 60_000);
});

describe('classifier training helpers', () => {
  it('classifierSchedule: constant, then linear to 0 over the last fraction of the epochs', () => {
    // 100 steps in one epoch
    const at = (schedule: ReturnType<typeof classifierSchedule>, step: number) =>
      schedule({ step, epoch: step / 100 });
    const half = classifierSchedule(1, 0.5);
    const factors = [0, 49, 50, 75, 99].map((s) => at(half, s));
    for (const [i, f] of [1, 1, 1, 0.5, 0.02].entries()) expect(factors[i]).toBeCloseTo(f, 12);
    const constant = classifierSchedule(1, 0);
    expect([0, 99].map((s) => at(constant, s))).toEqual([1, 1]);
    const whole = classifierSchedule(1, 1);
    expect(at(whole, 0)).toBe(1);
    expect(at(whole, 90)).toBeCloseTo(0.1, 12);
  });

  it('augmentDigit moves a digit by a similarity transform (rotation, scale 0.9–1.1, shift)', () => {
    const random = new Random(5);
    const values = Float32Array.from({ length: 40 }, () => random.uniform(0.3, 0.7));
    const set: HostSet = { values, n: 20, d: 2 };
    const moved = augmentDigit(set, new Random(6));
    expect(moved.n).toBe(20);
    const distance = (s: HostSet, i: number, j: number) =>
      Math.hypot(s.values[2 * i] - s.values[2 * j], s.values[2 * i + 1] - s.values[2 * j + 1]);
    const ratios = [
      [0, 1],
      [2, 7],
      [5, 19],
      [11, 13],
    ].map(([i, j]) => distance(moved, i, j) / distance(set, i, j));
    for (const r of ratios) {
      expect(r).toBeGreaterThanOrEqual(0.9 - 1e-5);
      expect(r).toBeLessThanOrEqual(1.1 + 1e-5);
      expect(r).toBeCloseTo(ratios[0], 4);
    }
    expect(Array.from(moved.values)).not.toEqual(Array.from(values));
    // the input is left as it was
    expect(Array.from(set.values)).toEqual(Array.from(values));
  });
});

describe('splitCanvas', () => {
  it('reads the halves of a canvas as two digits centred by mass and scaled by 64/28', () => {
    // left: points around (0.25, 0.4); right: around (0.75, 0.6)
    const values = Float32Array.from([0.2, 0.4, 0.3, 0.4, 0.25, 0.35, 0.25, 0.45, 0.7, 0.6, 0.8, 0.6]);
    const [left, right] = splitCanvas({ values, n: 6, d: 2 });
    expect([left.n, right.n]).toEqual([4, 2]);
    const s = 64 / 28;
    expectClose(
      Array.from(left.values),
      [0.5 - 0.05 * s, 0.5, 0.5 + 0.05 * s, 0.5, 0.5, 0.5 - 0.05 * s, 0.5, 0.5 + 0.05 * s],
      {
        atol: 1e-6,
      },
    );
    expectClose(Array.from(right.values), [0.5 - 0.05 * s, 0.5, 0.5 + 0.05 * s, 0.5], { atol: 1e-6 });
    // an empty half is one point at the centre
    const [, empty] = splitCanvas({ values: Float32Array.from([0.1, 0.1]), n: 1, d: 2 });
    expect(Array.from(empty.values)).toEqual([0.5, 0.5]);
  });
});

describe('digitScore with the shipped Set-MNIST classifier', () => {
  it('real test digits score high, noise and blobs score low', async () => {
    await pickBackend();
    const model = await DigitClassifier.load(CLASSIFIER_DIR);
    const test = setMnist({ split: 'test', seed: 2, limit: 40, images: mnistImages() });
    const real = digitScore(model, test.sets, { seed: 1 });
    expect(real.confident).toBeGreaterThan(0.75);
    expect(real.histogramEntropy).toBeGreaterThan(0.8 * real.maxEntropy);
    expect(accuracy(model.predict(test.sets), test.labels as Int32Array)).toBeGreaterThan(0.9);
    const random = new Random(9);
    const noise = digitScore(
      model,
      Array.from({ length: 40 }, () => notADigit(100, random)),
      { seed: 1 },
    );
    expect(noise.confident).toBeLessThan(0.1);
    expect(noise.histogram[NOT_A_DIGIT]).toBeGreaterThan(30);
    // two-digit canvases: each half read as a digit; a canvas of noise is not two digits
    const canvases = setMultiMnist({ split: 'test', seed: 2, limit: 20, images: mnistImages() });
    const pairs = digitScore(model, canvases.sets, { seed: 1, twoDigits: true });
    expect(pairs.histogram).toHaveLength(101);
    expect(pairs.rejected).toBeLessThan(0.2);
    const noisy = digitScore(
      model,
      Array.from({ length: 20 }, () => notADigit(200, random)),
      { seed: 1, twoDigits: true },
    );
    expect(noisy.confident).toBe(0);
    model.dispose();
  }, 60_000);
});
