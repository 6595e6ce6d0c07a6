// Train SetVAE on Set-MNIST, evaluate samples against held-out digits with PointFlow's
// MMD / COV / 1-NNA (CD and EMD), and draw samples, reconstructions, cardinality
// generalisation, encoder attention and the loss curve into out/ (`main.ts` runs it).
//
//   node dist/main.js [--steps N | --epochs E] [--dataset setMnist|setMultiMnist]
//                     [--batch-size B] [--train-size N] [--eval-size K] [--out DIR]
import { appendFile, cp, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { epochBatches, type SetDataset, setMnist, setMultiMnist } from '@setgen/data';
import { pickBackend } from '@setgen/example-kit';
import type { ClassifierScore } from '@setgen/metrics';
import { SetVAE, type SetVAEConfig, type TrainProgress } from '@setgen/models/node';
import type { HostSet } from '@setgen/ops';
import { CLASSIFIER_DIR, DigitClassifier, resample } from './digit-classifier.js';
import { digitScore, formatScore } from './digit-score.js';
import { EVAL_POINTS, evaluateSamples, evaluationReference, formatMetric } from './evaluate.js';
import {
  drawAttention,
  drawCardinalities,
  drawLossCurve,
  drawReconstructions,
  drawSamples,
} from './figures.js';
import { mnistImages } from './mnist-images.js';
import { ProgressBar } from './progress-bar.js';

/**
 * Training steps of the quickstart: 8,000 steps of 16 digits (64 epochs of 2,000) of the
 * three-level model train in ≈ 7½ minutes on one core of these machines (README, "Tenth session";
 * 6,000 steps of 8 digits of the five-level model in the ninth session, 4,000 before).
 */
export const DEFAULT_STEPS = 8000;

/**
 * Sets per step of the quickstart: 16 (8 until the tenth session). A step of the three-level
 * model is mostly per-op cost, so 16 sets cost ≈ 1.2–1.5× the time of 8.
 */
export const DEFAULT_BATCH_SIZE = 16;

/**
 * Free bits of the quickstart (nats per generator level, `freeBits` of SetVAE; 8 until 4 Dec
 * 2026). Six were no better for the three-level model (README, "Tenth session").
 */
export const DEFAULT_FREE_BITS = 4;

const USAGE = `usage: setvae-mnist [--steps N | --epochs E] [--model quick3|quick|paper] [--dataset setMnist|setMultiMnist]
                    [--batch-size B] [--train-size N] [--eval-size K] [--out DIR]
                    [--points P] [--learning-rate LR] [--beta B] [--free-bits NATS] [--kl-warmup F] [--seed S]
                    [--checkpoint-every MINUTES] [--resume] [--temperature T] [--pretrained | --load DIR]
                    [--latent-dim DZ] [--inducing-points 2,4,8,16,32] [--non-hierarchical] [--unimodal]
                    [--no-figures]
  default (the quickstart): --model quick3 --steps ${DEFAULT_STEPS} --batch-size ${DEFAULT_BATCH_SIZE} --points 100 --learning-rate 3e-3
                            --beta 3e-3 --free-bits ${DEFAULT_FREE_BITS} --kl-warmup 0.25 --train-size 2000 --eval-size 64 --out out
                            --temperature 2 (samples, metrics, pictures; the paper samples at 1)
  paper settings:           --model paper --epochs 200 --batch-size 64 --train-size 0 --points 0
                            --learning-rate 1e-3 --beta 0.01 --free-bits 0`;

/**
 * 'paper': Table 4 (hidden 64, 4 heads). 'quick': the same hierarchy at half width with 2
 * heads, so that the quickstart trains a few hundred steps in minutes on 2 CPU cores.
 * 'quick3' (the quickstart since the tenth session, 4 Dec 2026): 'quick' with three generator levels, m = 2, 8, 32
 * (Table 4 has five: 2, 4, 8, 16, 32): a step costs 0.6 of quick's, and in the same minutes
 * its samples are more often confident digits (README, "Tenth session").
 */
const MODELS = {
  paper: {},
  quick: { hiddenDim: 32, numHeads: 2 },
  quick3: { hiddenDim: 32, numHeads: 2, inducingPoints: [2, 8, 32] },
} as const;
const MODEL_NAMES = Object.keys(MODELS) as (keyof typeof MODELS)[];

/**
 * The prior's temperature for samples, their metrics and pictures: every latent z = μ + T·σ·ε.
 * The paper samples at T = 1 (the model); T = 2 gave the best 1-NNA-CD, COV-CD, MMD-CD and
 * digit score of T ∈ [0.5, 2.5] for three of our models, chosen on test digits 1000–1063
 * (`temperature-sweep.js`), not on the 64 the run reports (README, "Sampling temperature").
 */
export const SAMPLING_TEMPERATURE = 2;

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      steps: { type: 'string' },
      epochs: { type: 'string' },
      model: { type: 'string', default: 'quick3' },
      dataset: { type: 'string', default: 'setMnist' },
      'batch-size': { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
      'train-size': { type: 'string', default: '2000' },
      'eval-size': { type: 'string', default: '64' },
      'kl-warmup': { type: 'string' },
      beta: { type: 'string', default: '3e-3' },
      'free-bits': { type: 'string', default: String(DEFAULT_FREE_BITS) },
      points: { type: 'string', default: '100' },
      'learning-rate': { type: 'string', default: '3e-3' },
      out: { type: 'string', default: 'out' },
      seed: { type: 'string', default: '42' },
      'checkpoint-every': { type: 'string', default: '0' },
      resume: { type: 'boolean', default: false },
      temperature: { type: 'string', default: String(SAMPLING_TEMPERATURE) },
      pretrained: { type: 'boolean', default: false },
      load: { type: 'string' },
      'no-figures': { type: 'boolean', default: false },
      'latent-dim': { type: 'string' },
      'inducing-points': { type: 'string' },
      'non-hierarchical': { type: 'boolean', default: false },
      unimodal: { type: 'boolean', default: false },
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
  if (!MODEL_NAMES.includes(values.model as keyof typeof MODELS)) {
    throw new Error(`--model: expected ${MODEL_NAMES.join(' | ')}, got ${values.model}\n${USAGE}`);
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
    freeBits: nonNegative('free-bits', values['free-bits']),
    learningRate: nonNegative('learning-rate', values['learning-rate']),
    out: values.out as string,
    seed: int('seed', values.seed, 0),
    checkpointMinutes: nonNegative('checkpoint-every', values['checkpoint-every']),
    resume: values.resume === true,
    temperature: nonNegative('temperature', values.temperature),
    pretrained: values.pretrained === true,
    load: values.load,
    figures: values['no-figures'] !== true,
    hierarchical: values['non-hierarchical'] !== true,
    unimodal: values.unimodal === true,
    latentDim: values['latent-dim'] === undefined ? undefined : int('latent-dim', values['latent-dim'], 1),
    inducingPoints:
      values['inducing-points'] === undefined
        ? undefined
        : values['inducing-points'].split(',').map((m) => int('inducing-points', m, 1)),
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function loadData(
  dataset: 'setMnist' | 'setMultiMnist',
  trainSize: number,
): { train: SetDataset; test: SetDataset } {
  const limit = trainSize > 0 ? trainSize : undefined;
  const images = mnistImages();
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

/** Where the example keeps what it ships: the digit classifiers and the pretrained SetVAE. */
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const DATASET_DIRS = { setMnist: 'set-mnist', setMultiMnist: 'set-multi-mnist' } as const;

/** The shipped digit classifier, or null if it is missing. */
async function loadClassifier(): Promise<DigitClassifier | null> {
  return (await exists(join(CLASSIFIER_DIR, 'classifier.json')))
    ? DigitClassifier.load(CLASSIFIER_DIR)
    : null;
}

/** What a run produced (for tests and scripts). */
export interface RunSummary {
  steps: number;
  losses: Record<string, number>;
  /** Every training step's losses, in order (empty for `--pretrained` / `--load`). */
  history: Record<string, number>[];
  metrics: Record<string, number>;
  /** The digit classifier's score of the samples and of as many test sets (when a classifier is shipped). */
  score: { samples: ClassifierScore; test: ClassifierScore } | null;
  /** The prior's temperature the samples were drawn at, and the samples (as many as test sets evaluated). */
  temperature: number;
  samples: HostSet[];
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
  if (options.pretrained && options.load !== undefined)
    throw new Error(`give --pretrained or --load, not both\n${USAGE}`);
  // --pretrained and --load DIR: sample, evaluate and draw a saved model, no training
  const pretrainedDir = options.load ?? join(PACKAGE_DIR, 'pretrained', DATASET_DIRS[options.dataset]);
  const evaluateOnly = options.pretrained || options.load !== undefined;
  if (evaluateOnly && !(await exists(join(pretrainedDir, 'model.json')))) {
    throw new Error(
      options.pretrained
        ? `--pretrained: no pretrained ${options.dataset} model is shipped (${pretrainedDir})`
        : `--load: no saved SetVAE in ${pretrainedDir} (expected model.json)`,
    );
  }
  const backend = await pickBackend();
  const { train, test } = loadData(options.dataset, options.trainSize);
  const stepsPerEpoch = Math.ceil(train.sets.length / options.batchSize);
  const epochs = options.epochs ?? (options.steps ?? DEFAULT_STEPS) / stepsPerEpoch;
  const totalSteps = Math.ceil(epochs * stepsPerEpoch);
  const preset = SetVAE.presets[options.dataset];
  // The paper's schedule scaled to this run: β warm-up over the first quarter (50 of 200
  // epochs), constant LR for the first half, then linear decay to zero.
  const config: SetVAEConfig = {
    ...preset,
    ...MODELS[options.model],
    ...(options.latentDim ? { latentDim: options.latentDim } : {}),
    ...(options.inducingPoints ? { inducingPoints: options.inducingPoints } : {}),
    // the ablation's baselines (Table 3, App. B.3): one global latent per level / a single
    // learnable diagonal Gaussian as the initial-set prior instead of the mixture
    hierarchical: options.hierarchical,
    ...(options.unimodal ? { mixtureComponents: 1, trainMixture: true } : {}),
    epochs,
    klWarmupEpochs: epochs * (options.klWarmup ?? preset.klWarmupEpochs / preset.epochs),
    learningRate: options.learningRate,
    beta: options.beta,
    freeBits: options.freeBits,
    batchSize: options.batchSize,
    maxOutputs: 2000,
    seed: options.seed,
  };
  const out = options.out;
  const checkpointDir = join(out, 'checkpoint');
  const resumed = options.resume && (await exists(join(checkpointDir, 'model.json')));
  // --resume continues the run saved in out/checkpoint (its config, weights, Adam state and
  // position: the same batches and noise as an uninterrupted run, given the same flags)
  const model = evaluateOnly
    ? await SetVAE.load(pretrainedDir)
    : resumed
      ? await SetVAE.load(checkpointDir)
      : new SetVAE(config);
  const history: TrainProgress[] = [];
  let trainSeconds = 0;
  if (evaluateOnly) {
    console.log(
      `SetVAE from ${pretrainedDir} (${model.step} steps; ${backend} backend): sampling and evaluating only`,
    );
  } else {
    console.log(
      `SetVAE (${options.model}) on ${options.dataset} (${backend} backend): ${model.countParams().toLocaleString('en')} parameters, ` +
        `${train.sets.length} training sets, ${totalSteps} steps of ${options.batchSize} (${epochs.toFixed(2)} epochs)` +
        (resumed ? `; resumed at step ${model.step}` : ''),
    );
    const tTrain = performance.now();
    await train_(model, train.sets, { ...options, epochs, totalSteps, checkpointDir, history });
    trainSeconds = (performance.now() - tTrain) / 1000;
    const last = history.slice(-20);
    const meanOf = (key: string) => last.reduce((s, p) => s + p.losses[key], 0) / Math.max(1, last.length);
    console.log(
      `\ntrained ${history.length} steps in ${trainSeconds.toFixed(0)} s (${(history.length / trainSeconds).toFixed(2)} steps/s); ` +
        `last 20 steps: CD ${meanOf('recon').toFixed(3)}, KL ${meanOf('kl').toFixed(2)}`,
    );
  }

  // Evaluation: as many samples as held-out sets, all at one cardinality, since PointFlow's
  // EMD matches equal-size clouds: each test set is subsampled to EVAL_POINTS points (drawn
  // with replacement only for the rare sets with fewer points).
  const tEval = performance.now();
  const reference = evaluationReference(test.sets, options.evalSize);
  const twoDigits = options.dataset === 'setMultiMnist';
  const classifier = options.evalSize > 0 ? await loadClassifier() : null;
  const { metrics, score, generated } = await evaluateSamples(
    model,
    reference.length > 0 ? reference : evaluationReference(test.sets, 32),
    {
      temperature: options.temperature,
      distances: reference.length >= 2 ? ['cd', 'emd'] : [],
      classifier,
      twoDigits,
    },
  );
  const testScore = classifier ? digitScore(classifier, reference, { seed: 1, twoDigits }) : null;
  classifier?.dispose();
  const evalSeconds = (performance.now() - tEval) / 1000;

  // Pictures.
  const tDraw = performance.now();
  const files: string[] = [];
  if (options.figures) {
    files.push(
      await drawSamples(join(out, 'samples.png'), generated.slice(0, 32)),
      await drawReconstructions(join(out, 'reconstructions.png'), model, test.sets.slice(0, 8)),
      await drawCardinalities(
        join(out, 'cardinality.png'),
        model,
        [50, 150, 500, 2000],
        4,
        options.temperature,
      ),
      await drawAttention(join(out, 'attention.png'), model, test.sets.slice(0, 6)),
    );
    if (history.length > 0) files.push(await drawLossCurve(join(out, 'loss.png'), history));
  }
  const drawSeconds = (performance.now() - tDraw) / 1000;
  if (reference.length >= 2) {
    console.log(
      `\n| metric (${reference.length} samples at temperature ${options.temperature} vs ${reference.length} test sets, ${EVAL_POINTS} points each) | value |`,
    );
    console.log('|---|---|');
  }
  for (const [name, value] of Object.entries(metrics))
    console.log(`| ${name} | ${formatMetric(name, value)} |`);
  if (score && testScore) {
    console.log(`\ndigit classifier, samples:   ${formatScore(score)}`);
    console.log(`digit classifier, test sets: ${formatScore(testScore)}`);
  }
  console.log(
    `\nevaluation took ${evalSeconds.toFixed(0)} s, pictures ${drawSeconds.toFixed(1)} s; total ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  console.log(`pictures (each also as .svg and .vl.json): ${files.join(', ')}`);
  if (!evaluateOnly) console.log(`checkpoint: ${checkpointDir} (SetVAE.load('${checkpointDir}'))`);
  const summary: RunSummary = {
    steps: model.step,
    losses: history.at(-1)?.losses ?? {},
    history: history.map((p) => p.losses),
    metrics,
    score: score && testScore ? { samples: score, test: testScore } : null,
    temperature: options.temperature,
    samples: generated,
    files,
  };
  model.dispose();
  return summary;
}

/**
 * Trains `model` up to `epochs`, saving out/checkpoint at the end; with `checkpointMinutes`,
 * also every that many minutes, each save copied to out/snapshots/step-N (learning curves)
 * and the per-step losses appended to out/history.jsonl. Ctrl-C stops after the current step.
 */
async function train_(
  model: SetVAE,
  sets: readonly HostSet[],
  options: {
    epochs: number;
    totalSteps: number;
    batchSize: number;
    points: number;
    checkpointMinutes: number;
    checkpointDir: string;
    out: string;
    history: TrainProgress[];
  },
): Promise<void> {
  const { out, checkpointDir, history } = options;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const bar = new ProgressBar(options.totalSteps - model.step, model.step);
  await mkdir(out, { recursive: true });
  let lastSave = performance.now();
  let pending: string[] = [];
  const saveSnapshot = async () => {
    await appendFile(join(out, 'history.jsonl'), pending.length > 0 ? `${pending.join('\n')}\n` : '');
    pending = [];
    await model.save(checkpointDir);
    await cp(checkpointDir, join(out, 'snapshots', `step-${String(model.step).padStart(7, '0')}`), {
      recursive: true,
    });
    lastSave = performance.now();
  };
  // Fewer points per training set make each step cheaper (attention cost grows with n).
  const trainSets =
    options.points > 0
      ? sets.map((set, i) => (set.n > options.points ? resample(set, options.points, 100 + i) : set))
      : sets;
  const result = await model.fit(
    epochBatches(trainSets, { batchSize: options.batchSize, seed: model.config.seed }),
    {
      epochs: options.epochs,
      signal: controller.signal,
      onProgress: async (p) => {
        history.push(p);
        bar.update(p);
        if (options.checkpointMinutes > 0) {
          pending.push(
            JSON.stringify({ step: p.step, epoch: p.epoch, beta: p.weights.kl ?? 0, ...p.losses }),
          );
          if (performance.now() - lastSave > options.checkpointMinutes * 60_000) await saveSnapshot();
        }
      },
    },
  );
  process.off('SIGINT', stop);
  if (result.stoppedBy === 'signal') bar.finish();
  if (options.checkpointMinutes > 0) await saveSnapshot();
  else await model.save(checkpointDir);
}
