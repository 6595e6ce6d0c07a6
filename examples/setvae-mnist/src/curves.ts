// Learning curves of a long run: evaluates every snapshot a `--checkpoint-every` run saved in
// DIR/snapshots (MMD / COV / 1-NNA under CD, the digit classifier's score, the encoder's
// attention split per level), appends one JSON line per snapshot to DIR/curves.jsonl (snapshots
// already there are skipped, so it can run again as the run goes on) and draws DIR/curves.png.
//
//   node dist/curves.js --run DIR [--eval-size K] [--temperature T] [--every N] [--at STEP] [--rescore]
//
// --rescore scores the samples kept in DIR/samples again with the shipped classifier.
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setMnist, setMultiMnist } from '@setgen/data';
import { pickBackend } from '@setgen/example-kit';
import { SetVAE } from '@setgen/models/node';
import { CLASSIFIER_DIR, DigitClassifier } from './digit-classifier.js';
import { digitScore } from './digit-score.js';
import { attentionSplit, evaluateSamples, evaluationReference, scoreFields } from './evaluate.js';
import { drawMetricCurves } from './figures.js';
import { mnistImages } from './mnist-images.js';

export interface CurvePoint {
  step: number;
  temperature: number;
  metrics: Record<string, number>;
  confident: number;
  rejected: number;
  classEntropy: number;
  /** Normalised entropy of the attention split per encoder level, top-down. */
  attentionEntropy: number[];
  recon?: number;
  kl?: number;
}

async function readJsonLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as T);
}

export async function runCurves(args: string[]): Promise<CurvePoint[]> {
  const { values } = parseArgs({
    args,
    options: {
      run: { type: 'string' },
      'eval-size': { type: 'string', default: '64' },
      temperature: { type: 'string', default: '1' },
      every: { type: 'string', default: '1' },
      rescore: { type: 'boolean', default: false },
      at: { type: 'string' },
    },
  });
  if (!values.run) throw new Error('usage: curves --run DIR [--eval-size K] [--temperature T] [--every N]');
  const run = values.run;
  const temperature = Number(values.temperature);
  const every = Number(values.every);
  await pickBackend();
  const file = join(run, 'curves.jsonl');
  const done = await readJsonLines<CurvePoint>(file);
  let snapshots = (await readdir(join(run, 'snapshots'))).filter((name) => name.startsWith('step-')).sort();
  if (values.at !== undefined) {
    // only the last snapshot at or before step --at (runs compared at about the same step)
    const at = Number(values.at);
    snapshots = snapshots.filter((name) => Number(name.slice(5)) <= at).slice(-1);
  }
  // per-step losses, averaged over the 100 steps before each snapshot
  const history = await readJsonLines<{ step: number; recon: number; kl: number }>(
    join(run, 'history.jsonl'),
  );
  if (values.rescore) {
    // the classifier score of every evaluated snapshot again, from its saved samples
    const classifier = await DigitClassifier.load(CLASSIFIER_DIR);
    for (const point of done) {
      const saved = JSON.parse(
        await readFile(
          join(run, 'samples', `step-${String(point.step).padStart(7, '0')}-t${point.temperature}.json`),
          'utf8',
        ),
      ) as { dataset: string; sets: number[][] };
      const sets = saved.sets.map((v) => ({ values: Float32Array.from(v), n: v.length / 2, d: 2 }));
      const score = digitScore(classifier, sets, {
        seed: 1000,
        twoDigits: saved.dataset === 'setMultiMnist',
      });
      Object.assign(point, {
        confident: score.confident,
        rejected: score.rejected,
        classEntropy: score.histogramEntropy,
      });
    }
    classifier.dispose();
    await writeFile(file, done.map((p) => `${JSON.stringify(p)}\n`).join(''));
  }
  let classifier: DigitClassifier | null = null;
  let reference: ReturnType<typeof evaluationReference> = [];
  let dataset = '';
  for (const [k, name] of snapshots.entries()) {
    const step = Number(name.slice(5));
    if (k % every !== 0 && k !== snapshots.length - 1) continue;
    if (done.some((p) => p.step === step && p.temperature === temperature)) continue;
    const model = await SetVAE.load(join(run, 'snapshots', name));
    if (!classifier) {
      // Set-MultiMNIST has initial sets of 64 dims in the preset; the data follows the model
      dataset = model.config.initialSetDim === 64 ? 'setMultiMnist' : 'setMnist';
      const test = (dataset === 'setMnist' ? setMnist : setMultiMnist)({
        split: 'test',
        seed: 2,
        images: mnistImages(),
      });
      reference = evaluationReference(test.sets, Number(values['eval-size']));
      classifier = await DigitClassifier.load(CLASSIFIER_DIR);
    }
    const { metrics, score, generated } = await evaluateSamples(model, reference, {
      temperature,
      distances: ['cd'],
      classifier,
      twoDigits: dataset === 'setMultiMnist',
    });
    // the samples are kept, so that `--rescore` can score them again with another classifier
    await mkdir(join(run, 'samples'), { recursive: true });
    await writeFile(
      join(run, 'samples', `${name}-t${temperature}.json`),
      JSON.stringify({ dataset, sets: generated.map((g) => Array.from(g.values)) }),
    );
    const split = attentionSplit(model, reference.slice(0, 16));
    const recent = history.filter((h) => h.step <= step && h.step > step - 100);
    const mean = (key: 'recon' | 'kl') => recent.reduce((s, h) => s + h[key], 0) / Math.max(1, recent.length);
    const point: CurvePoint = {
      step,
      temperature,
      metrics,
      ...scoreFields(score),
      attentionEntropy: split.map((level) => level.entropy),
      recon: mean('recon'),
      kl: mean('kl'),
    };
    model.dispose();
    await appendFile(file, `${JSON.stringify(point)}\n`);
    done.push(point);
    console.log(
      `step ${step}: 1-NNA-CD ${(100 * metrics['1-NNA-CD']).toFixed(1)} %, COV-CD ${(100 * metrics['COV-CD']).toFixed(1)} %, ` +
        `confident ${(100 * point.confident).toFixed(1)} %, attention split ${point.attentionEntropy.map((e) => e.toFixed(2)).join(' ')}`,
    );
  }
  classifier?.dispose();
  const points = done.filter((p) => p.temperature === temperature).sort((a, b) => a.step - b.step);
  if (points.length > 0) {
    const steps = points.map((p) => p.step);
    const series = (name: string, values: number[]) => ({ name, values, steps });
    await drawMetricCurves(join(run, temperature === 1 ? 'curves.png' : `curves-t${temperature}.png`), [
      {
        title: 'training loss (mean of 100 steps)',
        logY: true,
        series: [
          series(
            'Chamfer',
            points.map((p) => p.recon ?? Number.NaN),
          ),
          series(
            'KL / 100',
            points.map((p) => (p.kl ?? Number.NaN) / 100),
          ),
        ],
      },
      {
        title: '%',
        series: [
          series(
            '1-NNA-CD',
            points.map((p) => 100 * p.metrics['1-NNA-CD']),
          ),
          series(
            'COV-CD',
            points.map((p) => 100 * p.metrics['COV-CD']),
          ),
          series(
            'confident digits',
            points.map((p) => 100 * p.confident),
          ),
          series(
            'not a digit',
            points.map((p) => 100 * p.rejected),
          ),
        ],
      },
      {
        title: 'MMD-CD',
        logY: true,
        series: [
          series(
            'MMD-CD',
            points.map((p) => p.metrics['MMD-CD']),
          ),
        ],
      },
      {
        title: 'attention split (entropy / log m)',
        series: points[0].attentionEntropy.map((_, l) =>
          series(
            `level ${l}`,
            points.map((p) => p.attentionEntropy[l]),
          ),
        ),
      },
    ]);
  }
  return points;
}

if (process.argv[1]?.endsWith('curves.js')) {
  runCurves(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
