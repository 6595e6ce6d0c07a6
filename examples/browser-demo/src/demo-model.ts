// What the demo does with SetVAE, without the DOM: the digits, the model, training batches,
// samples, reconstructions and the encoder's attention, each with its wall time.
import { type MnistImages, mnistImagesFromIdx, setMnist, toSetBatch } from '@setgen/data';
import { SetVAE, type SetVAEConfig } from '@setgen/models';
import { type HostSet, Random } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';

/** The quickstart's model (`pnpm quickstart`: the paper's hierarchy at half width) and recipe. */
export const DEMO_CONFIG: SetVAEConfig = {
  ...SetVAE.presets.setMnist,
  hiddenDim: 32,
  numHeads: 2,
  maxOutputs: 2000,
  learningRate: 3e-3,
  beta: 1e-4,
  klWarmupEpochs: 4,
  epochs: 200,
  batchSize: 8,
};
/** Points per training digit (a random subset, as the quickstart's `--points 100`). */
export const TRAIN_POINTS = 100;

/** The 2,000 digits the build ships (`vite.config.ts`), fetched next to the page. */
export async function loadDigits(base: string): Promise<MnistImages> {
  const get = async (name: string) => {
    const response = await fetch(new URL(name, base));
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const [images, labels] = await Promise.all([get('digits/images.idx'), get('digits/labels.idx')]);
  return mnistImagesFromIdx(images, labels);
}

export interface Digits {
  train: HostSet[];
  test: HostSet[];
  testLabels: Int32Array;
}

/** Set-MNIST (the package's fixed 80/20 split) with training digits cut to TRAIN_POINTS points. */
export function setMnistDigits(images: MnistImages): Digits {
  const train = setMnist({ split: 'train', seed: 1, images });
  const test = setMnist({ split: 'test', seed: 2, images });
  const random = new Random(5);
  return {
    train: train.sets.map((set) => subsample(set, TRAIN_POINTS, random)),
    test: test.sets,
    testLabels: test.labels,
  };
}

/** At most `n` distinct points of `set`, chosen at random. */
function subsample(set: HostSet, n: number, random: Random): HostSet {
  if (set.n <= n) return set;
  const order = random.shuffle(Array.from({ length: set.n }, (_, i) => i)).slice(0, n);
  const values = new Float32Array(n * set.d);
  order.forEach((i, k) => {
    values.set(set.values.subarray(i * set.d, (i + 1) * set.d), k * set.d);
  });
  return { values, n, d: set.d };
}

/** `count` points as plain rows, from a padded `[B, N, D]` batch read on the host. */
function rowsOf(values: ArrayLike<number>, b: number, n: number, d: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: d }, (_, c) => values[(b * n + i) * d + c]),
  );
}

/** Wall time of `f` in ms. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await f();
  return [value, performance.now() - start];
}

export class DemoModel {
  model: SetVAE;
  private batchRandom = new Random(11);

  constructor(
    readonly digits: Digits,
    model?: SetVAE,
  ) {
    this.model = model ?? new SetVAE(DEMO_CONFIG);
  }

  /** Training steps so far (a loaded checkpoint brings its own). */
  get step(): number {
    return this.model.step;
  }

  get maxOutputs(): number {
    return this.model.getConfig().maxOutputs ?? 400;
  }

  /** One Adam step on a random batch of training digits; the loss terms and the step's time. */
  async trainStep(): Promise<{ losses: Record<string, number>; ms: number }> {
    const size = this.model.getConfig().batchSize ?? 8;
    const sets = Array.from(
      { length: size },
      () => this.digits.train[this.batchRandom.int(this.digits.train.length)],
    );
    const batch = toSetBatch(sets);
    try {
      const [result, ms] = await timed(async () => this.model.trainStep(batch));
      return { losses: result.losses, ms };
    } finally {
      tf.dispose([batch.x, batch.mask!]);
    }
  }

  /** `count` sets of `cardinality` points from the prior at `temperature`, as rows. */
  async sample(count: number, cardinality: number, temperature: number, seed: number) {
    const [rows, ms] = await timed(async () => {
      const out = this.model.sample(new Array<number>(count).fill(cardinality), { seed, temperature });
      try {
        const values = await out.x.data();
        return Array.from({ length: count }, (_, b) => rowsOf(values, b, cardinality, 2, cardinality));
      } finally {
        tf.dispose(out as unknown as tf.TensorContainer); // x, mask, attention maps, latents
      }
    });
    return { sets: rows, ms };
  }

  /** Test digit `index` and its reconstruction (same cardinality). */
  async reconstruct(index: number, seed: number) {
    const digit = this.digits.test[index];
    const [rows, ms] = await timed(async () => {
      const batch = toSetBatch([digit]);
      const out = this.model.reconstruct(batch, { seed });
      try {
        return rowsOf(await out.x.data(), 0, out.x.shape[1], 2, digit.n);
      } finally {
        tf.dispose([batch, out] as unknown as tf.TensorContainer);
      }
    });
    return { input: rowsOf(digit.values, 0, digit.n, 2, digit.n), output: rows, ms };
  }

  /**
   * Encoder attention of test digit `index` (SetVAE Fig. 7): per level (coarse → fine), the
   * inducing point that attends most to each point (mean over heads).
   */
  async attention(index: number): Promise<{ inducingPoints: number; owner: Int32Array }[]> {
    const digit = this.digits.test[index];
    const batch = toSetBatch([digit]);
    const encoding = this.model.encode(batch);
    try {
      const owners = encoding.attention.map((a) => tf.tidy(() => tf.argMax(tf.mean(a, 1), 1)));
      const values = await Promise.all(owners.map((o) => o.data()));
      tf.dispose(owners);
      return encoding.attention.map((a, l) => ({
        inducingPoints: a.shape[2],
        owner: Int32Array.from(values[l].subarray(0, digit.n)),
      }));
    } finally {
      tf.dispose([batch.x, batch.mask!, ...encoding.features, ...encoding.attention]);
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
