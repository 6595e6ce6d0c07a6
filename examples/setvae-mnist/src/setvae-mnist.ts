// Train SetVAE on Set-MNIST, evaluate samples against held-out digits with PointFlow's
// MMD / COV / 1-NNA (CD and EMD), and draw samples, reconstructions, cardinality
// generalisation, encoder attention and the loss curve into out/ (`main.ts` runs it).
//
//   node dist/main.js [--steps N | --epochs E] [--dataset setMnist|setMultiMnist]
//                     [--batch-size B] [--train-size N] [--eval-size K] [--out DIR]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { epochBatches, mnistPackageDigits, type SetDataset, setMnist, setMultiMnist } from '@setgen/data';
import { SetVAE, type SetVAEConfig, type SetVAEOutput, type TrainProgress } from '@setgen/models/node';
import { type HostSet, Random } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import { pickBackend } from './backend.js';
import {
  drawAttention,
  drawCardinalities,
  drawLossCurve,
  drawReconstructions,
  drawSamples,
} from './figures.js';
import { ProgressBar } from './progress-bar.js';

const USAGE = `usage: setvae-mnist [--steps N | --epochs E] [--model quick|paper] [--dataset setMnist|setMultiMnist]
                    [--batch-size B] [--train-size N] [--eval-size K] [--out DIR]
                    [--points P] [--learning-rate LR] [--beta B] [--kl-warmup F]
  default (the quickstart): --model quick --steps 4000 --batch-size 8 --points 100 --learning-rate 3e-3
                            --beta 1e-4 --train-size 2000 --eval-size 64 --out out
  paper settings:           --model paper --epochs 200 --batch-size 64 --train-size 0 --points 0
                            --learning-rate 1e-3 --beta 0.01`;

/**
 * 'paper': Table 4 (hidden 64, 4 heads). 'quick': the same hierarchy at half width with 2
 * heads, so that the quickstart trains a few hundred steps in minutes on 2 CPU cores.
 */
const MODELS = {
  paper: {},
  quick: { hiddenDim: 32, numHeads: 2 },
} as const;

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      steps: { type: 'string' },
      epochs: { type: 'string' },
      model: { type: 'string', default: 'quick' },
      dataset: { type: 'string', default: 'setMnist' },
      'batch-size': { type: 'string', default: '8' },
      'train-size': { type: 'string', default: '2000' },
      'eval-size': { type: 'string', default: '64' },
      'kl-warmup': { type: 'string' },
      beta: { type: 'string', default: '1e-4' },
      points: { type: 'string', default: '100' },
      'learning-rate': { type: 'string', default: '3e-3' },
      out: { type: 'string', default: 'out' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  const int = (name: string, value: string | undefined, min: number) => {
    const v = Number(value);
    if (!Number.isInteger(v) || v < min)
      throw new Error(`--${name}: expected an integer >= ${min}, got ${value}\n${USAGE}`);
    return v;
  };
  const nonNegative = (name: string, value: string | undefined) => {
    const v = Number(value);
    if (!(Number.isFinite(v) && v >= 0))
      throw new Error(`--${name}: expected a number >= 0, got ${value}\n${USAGE}`);
    return v;
  };
  if (values.steps !== undefined && values.epochs !== undefined)
    throw new Error(`give --steps or --epochs, not both\n${USAGE}`);
  if (values.dataset !== 'setMnist' && values.dataset !== 'setMultiMnist') {
    throw new Error(`--dataset: expected setMnist | setMultiMnist, got ${values.dataset}\n${USAGE}`);
  }
  if (values.model !== 'quick' && values.model !== 'paper') {
    throw new Error(`--model: expected quick | paper, got ${values.model}\n${USAGE}`);
  }
  return {
    model: values.model as keyof typeof MODELS,
    steps: values.steps === undefined ? undefined : int('steps', values.steps, 1),
    epochs: values.epochs === undefined ? undefined : Number(values.epochs),
    dataset: values.dataset as 'setMnist' | 'setMultiMnist',
    batchSize: int('batch-size', values['batch-size'], 1),
    trainSize: int('train-size', values['train-size'], 0),
    evalSize: int('eval-size', values['eval-size'], 0),
    points: int('points', values.points, 0),
    klWarmup: values['kl-warmup'] === undefined ? undefined : Number(values['kl-warmup']),
    beta: nonNegative('beta', values.beta),
    learningRate: nonNegative('learning-rate', values['learning-rate']),
    out: values.out as string,
  };
}

function loadData(
  dataset: 'setMnist' | 'setMultiMnist',
  trainSize: number,
): { train: SetDataset; test: SetDataset } {
  const limit = trainSize > 0 ? trainSize : undefined;
  // The digits of the `mnist` package, a dependency of this example (not of @setgen/data).
  const images = mnistPackageDigits([createRequire(import.meta.url).resolve]);
  if (dataset === 'setMnist') {
    return {
      train: setMnist({ split: 'train', seed: 1, limit, images }),
      test: setMnist({ split: 'test', seed: 2, images }),
    };
  }
  return {
    train: setMultiMnist({ split: 'train', seed: 1, limit, images }),
    test: setMultiMnist({ split: 'test', seed: 2, images }),
  };
}

/** Host copies of the valid rows of a padded batch. */
function toHostSets(out: { x: tf.Tensor3D; mask: tf.Tensor2D }): HostSet[] {
  const [b, n, d] = out.x.shape;
  const x = out.x.dataSync();
  const m = out.mask.dataSync();
  return Array.from({ length: b }, (_, s) => {
    let count = 0;
    for (let i = 0; i < n; i++) count += m[s * n + i];
    const values = new Float32Array(count * d);
    let k = 0;
    for (let i = 0; i < n; i++)
      if (m[s * n + i] === 1) values.set(x.subarray((s * n + i) * d, (s * n + i + 1) * d), d * k++);
    return { values, n: count, d };
  });
}

function disposeOutput(out: SetVAEOutput): void {
  tf.dispose([out.x, out.mask, ...out.attention.map((a) => a.attention)]);
}

/** Points per cloud in the evaluation. */
const EVAL_POINTS = 100;

/** `k` points of `set`: a random subset, or every point plus random repeats when n < k. */
function resample(set: HostSet, k: number, seed: number): HostSet {
  const random = new Random(seed);
  const order = random.shuffle(Array.from({ length: set.n }, (_, i) => i));
  while (order.length < k) order.push(random.int(set.n));
  const values = new Float32Array(k * set.d);
  for (let i = 0; i < k; i++)
    values.set(set.values.subarray(order[i] * set.d, (order[i] + 1) * set.d), i * set.d);
  return { values, n: k, d: set.d };
}

/** Samples with the reference cardinalities (as SetVAE's evaluation), in chunks. */
function sampleLike(model: SetVAE, reference: HostSet[], seed: number, chunk = 50): HostSet[] {
  const result: HostSet[] = [];
  for (let start = 0; start < reference.length; start += chunk) {
    const sizes = reference.slice(start, start + chunk).map((s) => s.n);
    const out = model.sample(sizes, { seed: seed + start });
    result.push(...toHostSets(out));
    disposeOutput(out);
  }
  return result;
}

/** What a run produced (for tests and scripts). */
export interface RunSummary {
  steps: number;
  losses: Record<string, number>;
  metrics: Record<string, number>;
  files: string[];
}

/** The example, given its command-line arguments; `null` after printing `--help`. */
export async function runSetVaeMnist(args: string[]): Promise<RunSummary | null> {
  const options = parseOptions(args);
  if (!options) {
    console.log(USAGE);
    return null;
  }
  const t0 = performance.now();
  const backend = await pickBackend();
  const { train, test } = loadData(options.dataset, options.trainSize);
  const stepsPerEpoch = Math.ceil(train.sets.length / options.batchSize);
  const epochs = options.epochs ?? (options.steps ?? 4000) / stepsPerEpoch;
  const totalSteps = Math.ceil(epochs * stepsPerEpoch);
  const preset = SetVAE.presets[options.dataset];
  // The paper's schedule scaled to this run: β warm-up over the first quarter (50 of 200
  // epochs), constant LR for the first half, then linear decay to zero.
  const config: SetVAEConfig = {
    ...preset,
    ...MODELS[options.model],
    epochs,
    klWarmupEpochs: epochs * (options.klWarmup ?? preset.klWarmupEpochs / preset.epochs),
    learningRate: options.learningRate,
    beta: options.beta,
    batchSize: options.batchSize,
    maxOutputs: 2000,
  };
  const model = new SetVAE(config);
  console.log(
    `SetVAE (${options.model}) on ${options.dataset} (${backend} backend): ${model.countParams().toLocaleString('en')} parameters, ` +
      `${train.sets.length} training sets, ${totalSteps} steps of ${options.batchSize} (${epochs.toFixed(2)} epochs)`,
  );

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const bar = new ProgressBar(totalSteps);
  const history: TrainProgress[] = [];
  const tTrain = performance.now();
  // Fewer points per training digit make each step cheaper (attention cost grows with n).
  const trainSets =
    options.points > 0
      ? train.sets.map((set, i) => (set.n > options.points ? resample(set, options.points, 100 + i) : set))
      : train.sets;
  const result = await model.fit(
    epochBatches(trainSets, { batchSize: options.batchSize, seed: config.seed ?? 42 }),
    {
      epochs,
      signal: controller.signal,
      onProgress: (p) => {
        history.push(p);
        bar.update(p);
      },
    },
  );
  process.off('SIGINT', stop);
  if (result.stoppedBy === 'signal') bar.finish();
  const trainSeconds = (performance.now() - tTrain) / 1000;
  await model.save(join(options.out, 'checkpoint'));

  // Evaluation: as many samples as held-out digits, all at one cardinality, since PointFlow's
  // EMD matches equal-size clouds: each test digit is subsampled to `evalPoints` points
  // (drawn with replacement only for the rare digits with fewer points).
  const reference = test.sets.slice(0, options.evalSize).map((set, i) => resample(set, EVAL_POINTS, 7 + i));
  const generated = sampleLike(model, reference.length > 0 ? reference : test.sets.slice(0, 32), 1000);
  const tEval = performance.now();
  let metrics: Record<string, number> = {};
  if (reference.length >= 2) {
    // loaded on demand: --eval-size 0 skips the metrics (and their worker threads)
    const { computeAllMetrics } = await import('@setgen/metrics/node');
    metrics = await computeAllMetrics(generated, reference, { distances: ['cd', 'emd'] });
  }
  const evalSeconds = (performance.now() - tEval) / 1000;

  // Pictures.
  const out = options.out;
  const tDraw = performance.now();
  const files = [
    await drawSamples(join(out, 'samples.png'), generated.slice(0, 32)),
    await drawReconstructions(join(out, 'reconstructions.png'), model, test.sets.slice(0, 8)),
    await drawCardinalities(join(out, 'cardinality.png'), model, [50, 150, 500, 2000], 4),
    await drawAttention(join(out, 'attention.png'), model, test.sets.slice(0, 6)),
    await drawLossCurve(join(out, 'loss.png'), history),
  ];
  const drawSeconds = (performance.now() - tDraw) / 1000;
  const last = history.slice(-20);
  const meanOf = (key: string) => last.reduce((s, p) => s + p.losses[key], 0) / Math.max(1, last.length);
  console.log(
    `\ntrained ${result.step} steps in ${trainSeconds.toFixed(0)} s (${(result.step / trainSeconds).toFixed(2)} steps/s); ` +
      `last 20 steps: CD ${meanOf('recon').toFixed(3)}, KL ${meanOf('kl').toFixed(2)}`,
  );
  if (reference.length >= 2) {
    console.log(
      `\n| metric (${reference.length} samples vs ${reference.length} test digits, ${EVAL_POINTS} points each) | value |`,
    );
    console.log('|---|---|');
  }
  for (const [name, value] of Object.entries(metrics)) {
    const scaled = name.startsWith('MMD-CD')
      ? `${(value * 1e3).toFixed(3)} ×10⁻³`
      : name.startsWith('MMD-EMD')
        ? `${(value * 1e2).toFixed(3)} ×10⁻²`
        : `${(value * 100).toFixed(2)} %`;
    console.log(`| ${name} | ${scaled} |`);
  }
  console.log(
    `\nmetrics took ${evalSeconds.toFixed(0)} s, pictures ${drawSeconds.toFixed(1)} s; total ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  console.log(
    `pictures (each also as .svg and .vl.json): ${files.join(', ')}\ncheckpoint: ${join(out, 'checkpoint')} (SetVAE.load('${join(out, 'checkpoint')}'))`,
  );
  model.dispose();
  return { steps: result.step, losses: history.at(-1)?.losses ?? {}, metrics, files };
}
