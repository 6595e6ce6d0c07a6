// Sampling temperature of a trained SetVAE: scores prior samples at several temperatures T
// (every latent z = μ + T·σ·ε, NVAE's reduced-temperature sampling; T = 1 is the model) and
// several sampling seeds: MMD / COV / 1-NNA under CD against held-out digits and the digit
// classifier's score, mean ± 95 % CI over the seeds. One JSON line per (T, seed) in
// OUT/temperature.jsonl, a samples picture per T (first seed) in OUT/samples-tT.png.
// --reconstructions also scores the model's reconstructions of the reference digits (posterior
// latents at every level, one draw per seed): the ceiling its prior samples can reach.
//
//   node dist/temperature-sweep.js [--model DIR] [--temperatures 1,0.9,0.8,0.7,0.5]
//                                  [--seeds 3] [--eval-size 64] [--test-offset K] [--out DIR]
//                                  [--classifier DIR] [--reconstructions]
//
// Without --model it sweeps the shipped `--pretrained` Set-MNIST model. The reference digits are
// test digits K … K + eval-size − 1 (K = 0: the digits main.js and curves.js report on); choose
// T with another K, so that the reported numbers are not the ones T was selected on.
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setMnist } from '@setgen/data';
import { meanCi, pickBackend } from '@setgen/example-kit';
import { SetVAE } from '@setgen/models/node';
import { CLASSIFIER_DIR, DigitClassifier } from './digit-classifier.js';
import { digitScore, formatScore } from './digit-score.js';
import { evaluateSamples, evaluationReference, reconstructLike, scoreFields, scoreSets } from './evaluate.js';
import { drawSamples } from './figures.js';
import { mnistImages } from './mnist-images.js';

const USAGE =
  'usage: temperature-sweep [--model DIR] [--temperatures 1,0.9,0.8,0.7,0.5] [--seeds 3] [--eval-size 64] [--test-offset K] [--out DIR] [--classifier DIR] [--reconstructions]';

export const PRETRAINED_DIR = fileURLToPath(new URL('../pretrained/set-mnist', import.meta.url));

/** One scored draw: the metrics of `eval-size` samples at temperature T with one sampling seed. */
export interface SweepPoint {
  temperature: number;
  seed: number;
  metrics: Record<string, number>;
  confident: number;
  rejected: number;
  classEntropy: number;
  /** A reconstruction of the reference digits (posterior latents), not a prior sample; `temperature` is then NaN. */
  reconstruction?: boolean;
}

/** The table's row of a point: its temperature, or 'reconstructions'. */
const rowOf = (p: SweepPoint) => (p.reconstruction ? 'reconstructions' : String(p.temperature));

/** The rows of the sweep's table: per temperature, mean ± 95 % CI over the seeds of each column. */
export const SWEEP_COLUMNS: [string, (p: SweepPoint) => number][] = [
  ['1-NNA-CD %', (p) => 100 * p.metrics['1-NNA-CD']],
  ['COV-CD %', (p) => 100 * p.metrics['COV-CD']],
  ['MMD-CD ×10⁻³', (p) => 1e3 * p.metrics['MMD-CD']],
  ['confident %', (p) => 100 * p.confident],
  ['not a digit %', (p) => 100 * p.rejected],
  ['class entropy', (p) => p.classEntropy],
];

export function sweepTable(points: readonly SweepPoint[]): string {
  const rows = [...new Set(points.map(rowOf))];
  const cell = (values: number[]) => {
    const { mean, ci } = meanCi(values);
    return Number.isNaN(ci) ? mean.toFixed(2) : `${mean.toFixed(2)} ± ${ci.toFixed(2)}`;
  };
  return [
    `| T | seeds | ${SWEEP_COLUMNS.map((c) => c[0]).join(' | ')} |`,
    `|---:|---:|${SWEEP_COLUMNS.map(() => '---:').join('|')}|`,
    ...rows.map((row) => {
      const of = points.filter((p) => rowOf(p) === row);
      return `| ${row} | ${of.length} | ${SWEEP_COLUMNS.map(([, f]) => cell(of.map(f))).join(' | ')} |`;
    }),
  ].join('\n');
}

export async function runTemperatureSweep(args: string[]): Promise<SweepPoint[]> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: PRETRAINED_DIR },
      temperatures: { type: 'string', default: '1,0.9,0.8,0.7,0.5' },
      seeds: { type: 'string', default: '3' },
      'eval-size': { type: 'string', default: '64' },
      'test-offset': { type: 'string', default: '0' },
      out: { type: 'string', default: 'out/temperature' },
      // another digit classifier (default: the shipped one), e.g. to compare two yardsticks
      classifier: { type: 'string', default: CLASSIFIER_DIR },
      reconstructions: { type: 'boolean', default: false },
    },
  });
  const temperatures = (values.temperatures as string).split(',').map(Number);
  if (temperatures.some((t) => !(Number.isFinite(t) && t >= 0)))
    throw new Error(`--temperatures: expected numbers >= 0, got ${values.temperatures}\n${USAGE}`);
  const seeds = Number(values.seeds);
  const evalSize = Number(values['eval-size']);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds: expected an integer >= 1\n${USAGE}`);
  if (!Number.isInteger(evalSize) || evalSize < 2)
    throw new Error(`--eval-size: expected an integer >= 2\n${USAGE}`);
  const offset = Number(values['test-offset']);
  if (!Number.isInteger(offset) || offset < 0)
    throw new Error(`--test-offset: expected an integer >= 0\n${USAGE}`);
  const out = values.out as string;
  await pickBackend();
  const model = await SetVAE.load(values.model as string);
  const step = model.step;
  const classifier = await DigitClassifier.load(values.classifier as string).catch((error) => {
    model.dispose(); // a missing or wrong classifier leaves no model behind
    throw error;
  });
  const test = setMnist({ split: 'test', seed: 2, images: mnistImages() }).sets;
  if (offset + evalSize > test.length)
    throw new Error(`--test-offset + --eval-size: expected at most ${test.length} test digits\n${USAGE}`);
  const reference = evaluationReference(test.slice(offset), evalSize);
  await mkdir(out, { recursive: true });
  const points: SweepPoint[] = [];
  let realScore: ReturnType<typeof digitScore>;
  try {
    realScore = digitScore(classifier, reference, { seed: 1 }); // as main.js scores the test digits
    for (const temperature of temperatures) {
      for (let k = 0; k < seeds; k++) {
        const seed = 1000 + 7919 * k; // seed 1000 = the draw of main.js and curves.js
        const t0 = performance.now();
        const { metrics, score, generated } = await evaluateSamples(model, reference, {
          temperature,
          seed,
          distances: ['cd'],
          classifier,
        });
        const point: SweepPoint = {
          temperature,
          seed,
          metrics,
          ...scoreFields(score),
        };
        points.push(point);
        await appendFile(
          join(out, 'temperature.jsonl'),
          `${JSON.stringify({ step, testOffset: offset, ...point })}\n`,
        );
        if (k === 0)
          await drawSamples(
            join(out, `samples-t${temperature}.png`),
            generated.slice(0, 32),
            `Samples at temperature ${temperature} (step ${step})`,
          );
        console.log(
          `T ${temperature} seed ${seed}: ${SWEEP_COLUMNS.map(([name, f]) => `${name} ${f(point).toFixed(2)}`).join(', ')} ` +
            `(${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    }
    if (values.reconstructions) {
      for (let k = 0; k < seeds; k++) {
        const seed = 1000 + 7919 * k;
        const generated = reconstructLike(model, reference, { seed });
        const { metrics, score } = await scoreSets(generated, reference, {
          seed,
          distances: ['cd'],
          classifier,
          twoDigits: false,
        });
        const point: SweepPoint = {
          temperature: Number.NaN,
          seed,
          metrics,
          ...scoreFields(score),
          reconstruction: true,
        };
        points.push(point);
        await appendFile(
          join(out, 'temperature.jsonl'),
          `${JSON.stringify({ step, testOffset: offset, ...point, temperature: null })}\n`,
        );
        console.log(
          `reconstructions seed ${seed}: ${SWEEP_COLUMNS.map(([name, f]) => `${name} ${f(point).toFixed(2)}`).join(', ')}`,
        );
      }
    }
  } finally {
    classifier.dispose();
    model.dispose();
  }
  console.log(
    `\n${values.model} (step ${step}), ${evalSize} samples vs test digits ${offset}–${offset + evalSize - 1} per draw:\n`,
  );
  console.log(sweepTable(points));
  // the yardstick: the same classifier on the reference digits themselves
  console.log(`\n${evalSize} real test digits (the reference): ${formatScore(realScore)}`);
  return points;
}

if (process.argv[1]?.endsWith('temperature-sweep.js')) {
  runTemperatureSweep(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
