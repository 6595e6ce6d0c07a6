// Trains the digit classifier that scores generated sets (see digit-classifier.ts) on
// Set-MNIST, evaluates it on the held-out digits, on "not a digit" sets and on the halves of
// held-out Set-MultiMNIST canvases, and saves it:
//
//   node dist/train-classifier.js [--epochs 24] [--learning-rate 2e-3] [--decay 0.5] [--no-augment]
//     [--hidden-dim D] [--seed S] [--init DIR] [--out DIR]
// The defaults train the shipped classifier (CLASSIFIER_CONFIG, width 64).
// (`--epochs 0 --init DIR` only evaluates a saved classifier.)
import { parseArgs } from 'node:util';
import { setMnist, setMultiMnist } from '@setgen/data';
import { pickBackend } from '@setgen/example-kit';
import { Random } from '@setgen/ops';
import {
  accuracy,
  CLASSIFIER_CONFIG,
  DigitClassifier,
  NUM_CLASSES,
  notADigit,
  splitCanvas,
  trainDigitClassifier,
} from './digit-classifier.js';
import { digitScore, formatScore } from './digit-score.js';
import { mnistImages } from './mnist-images.js';

/** Lower edges of the confidence histogram that train-classifier prints. */
const CONFIDENCE_BINS = [0, 0.5, 0.7, 0.9, 0.99];

/** Fraction of sets whose top-class probability is at least each of CONFIDENCE_BINS. */
function confidenceHistogram(probabilities: Float32Array): number[] {
  const sets = probabilities.length / NUM_CLASSES;
  const top = Array.from({ length: sets }, (_, i) =>
    Math.max(...probabilities.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES)),
  );
  return CONFIDENCE_BINS.map((b) => top.filter((p) => p >= b).length / sets);
}

export async function runTrainClassifier(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: 'string', default: '24' },
      'batch-size': { type: 'string', default: '32' },
      'learning-rate': { type: 'string', default: '2e-3' },
      decay: { type: 'string', default: '0.5' },
      'no-augment': { type: 'boolean', default: false },
      'hidden-dim': { type: 'string' },
      seed: { type: 'string' },
      'train-size': { type: 'string', default: '0' },
      'test-size': { type: 'string', default: '0' },
      init: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const limit = (v: string | undefined) => (Number(v) > 0 ? Number(v) : undefined);
  const backend = await pickBackend();
  const train = setMnist({
    split: 'train',
    seed: 1,
    limit: limit(values['train-size']),
    images: mnistImages(),
  });
  const test = setMnist({ split: 'test', seed: 2, limit: limit(values['test-size']), images: mnistImages() });
  // --init DIR continues from saved weights (a fresh Adam), e.g. more epochs at a lower rate
  const model = values.init
    ? await DigitClassifier.load(values.init)
    : new DigitClassifier({
        ...CLASSIFIER_CONFIG,
        hiddenDim: Number(values['hidden-dim'] ?? CLASSIFIER_CONFIG.hiddenDim),
        seed: Number(values.seed ?? CLASSIFIER_CONFIG.seed),
      });
  const params = model.variables.reduce((n, v) => n + v.size, 0);
  console.log(`digit classifier (${backend}): ${params} parameters, ${train.sets.length} training digits`);
  const t0 = performance.now();
  await trainDigitClassifier(model, train, {
    epochs: Number(values.epochs),
    batchSize: Number(values['batch-size']),
    learningRate: Number(values['learning-rate']),
    junkFraction: 0.1,
    decayFraction: Number(values.decay),
    augment: !values['no-augment'],
    seed: values.init ? model.config.seed + 2 : undefined,
    onEpoch: async (epoch, loss, seconds) => {
      console.log(`epoch ${epoch}: cross-entropy ${loss.toFixed(4)} (${seconds.toFixed(0)} s)`);
      // saved after every epoch, so a stopped run keeps what it learnt
      if (values.out)
        await model.save(values.out, { command: `node dist/train-classifier.js ${args.join(' ')}`, epoch });
    },
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const testProbabilities = model.predict(test.sets, { seed: 5 });
  const testAccuracy = accuracy(testProbabilities, test.labels as Int32Array);
  const confidence = confidenceHistogram(testProbabilities);
  const real = digitScore(model, test.sets, { seed: 5 });
  const random = new Random(11);
  const noise = digitScore(
    model,
    Array.from({ length: 500 }, () => notADigit(model.config.points, random)),
    { seed: 5 },
  );
  // the same classifier on the halves of two-digit canvases (how Set-MultiMNIST is scored)
  const multi = setMultiMnist({
    split: 'test',
    seed: 2,
    limit: limit(values['test-size']) ?? 500,
    images: mnistImages(),
  });
  const halves = multi.sets.flatMap((set) => splitCanvas(set));
  const multiAccuracy = accuracy(model.predict(halves, { seed: 5 }), multi.digitLabels);
  const multiScore = digitScore(model, multi.sets, { seed: 5, twoDigits: true });
  console.log(`trained in ${trainSeconds.toFixed(0)} s; test accuracy ${(100 * testAccuracy).toFixed(2)} %`);
  console.log(`Set-MNIST test digits:       ${formatScore(real)}`);
  console.log(
    `  top-class probability of the test digits, ${CONFIDENCE_BINS.map((b) => `≥ ${b}`).join(' / ')}: ${confidence.map((f) => `${(100 * f).toFixed(1)} %`).join(' / ')}`,
  );
  console.log(`noise / blob sets:           ${formatScore(noise)}`);
  console.log(
    `Set-MultiMNIST test canvases: digit accuracy ${(100 * multiAccuracy).toFixed(2)} %, ${formatScore(multiScore)}`,
  );
  const summary = {
    testAccuracy,
    testConfident: real.confident,
    testEntropy: real.histogramEntropy,
    testTopProbability: Object.fromEntries(CONFIDENCE_BINS.map((b, i) => [b, confidence[i]])),
    noiseConfident: noise.confident,
    multiAccuracy,
    multiConfident: multiScore.confident,
    trainSeconds,
  };
  if (values.out) {
    await model.save(values.out, {
      command: `node dist/train-classifier.js ${args.join(' ')}`,
      backend,
      ...summary,
    });
    console.log(`saved ${values.out}`);
  }
  model.dispose();
  return summary;
}

if (process.argv[1]?.endsWith('train-classifier.js')) {
  runTrainClassifier(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
