// The Set-MNIST set-prediction study (Top-n paper Table 1; DSPN Table 1). Each run writes
// runs/<model>-<creation>-s<seed>.json (finished runs are skipped, so the study resumes).
//
//   node dist/main.js --seeds 0,1,2         # the README's table: DSPN and TSPN × {iid, first-n, top-n}
//   node dist/main.js --study               # 3 seeds, + MLP creation, + DSPN's MLP/LSTM decoders
//   node dist/main.js --report --figures results   # table + pictures from runs/
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickBackend } from '@setgen/example-kit';
import { studyData } from './data.js';
import {
  DECODER_RUNS,
  decoderTable,
  drawCurves,
  drawInnerLoop,
  drawReconstructions,
  readResults,
  table,
} from './report.js';
import { needsRescore, type RunSpec, rescore, runName, runOne } from './study.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const has = (name: string) => process.argv.includes(`--${name}`);

async function main(): Promise<void> {
  const backend = await pickBackend();
  const out = flag('out', 'runs');
  mkdirSync(out, { recursive: true });
  const resolution = Number(flag('resolution', '14')) as 14 | 28;
  const trainSize = Number(flag('train', '1000'));
  const data = studyData(resolution, trainSize, Number(flag('test', '200')));
  const trainScore = { ...data.train, sets: data.train.sets.slice(0, Number(flag('score', '200'))) };
  const study = has('study');
  const seeds = flag('seeds', study ? '0,1,2' : '0')
    .split(',')
    .map(Number);
  const models = flag('models', 'dspn,tspn').split(',') as RunSpec['model'][];
  const creations = flag('creations', study ? 'iid,first-n,top-n,mlp' : 'iid,first-n,top-n').split(',');
  const log = (line: string) => {
    console.log(line);
    appendFileSync(join(out, 'log.txt'), `${new Date().toISOString()} ${line}\n`);
  };
  log(
    `backend ${backend}; Set-MNIST ${resolution}×${resolution}, ${data.train.sets.length} train / ${data.test.sets.length} test digits, N = ${data.maxSize}`,
  );
  const specs: RunSpec[] = [];
  // seeds innermost: a study stopped early has the same seeds for every method
  for (const model of models) {
    const kinds = model === 'dspn' && study ? [...creations, 'mlp-decoder', 'lstm-decoder'] : creations;
    for (const creation of kinds) {
      for (const seed of seeds) {
        const isDspn = model === 'dspn';
        specs.push({
          model,
          creation: creation as RunSpec['creation'],
          seed,
          steps: Number(flag(`${model}-steps`, isDspn ? '40' : '80')),
          batchSize: 32,
          learningRate: Number(flag(`${model}-lr`, isDspn ? '1e-2' : '1e-3')),
          width: Number(flag(`${model}-width`, isDspn ? '64' : '64')),
          latentDim: Number(flag(`${model}-latent`, '32')),
          maxSize: data.maxSize,
          innerLearningRate: Number(flag('inner-lr', '800')),
          ...(has('keep-last') ? { dropLast: false } : {}),
        });
      }
    }
  }
  if (has('rescore')) {
    // DSPN runs scored before `innerLossReduction: 'fixed-batch'` (their inner steps at 32/100)
    for (const result of readResults(out).filter(needsRescore)) {
      const again = await rescore(result, { trainScore, test: data.test }, join(out, 'checkpoints'));
      writeFileSync(join(out, `${runName(result.spec)}.json`), JSON.stringify(again));
      log(
        `rescored ${runName(result.spec)}: test ${JSON.stringify(result.test)} → ${JSON.stringify(again.test)}`,
      );
    }
  }
  for (const spec of has('report') || has('rescore') ? [] : specs) {
    const file = join(out, `${runName(spec)}.json`);
    if (existsSync(file)) continue;
    const { result, model } = await runOne(
      spec,
      { train: data.train, trainScore, test: data.test },
      join(out, 'checkpoints'),
      log,
    );
    writeFileSync(file, JSON.stringify(result));
    log(
      `done ${file}: train ${JSON.stringify(result.train)} test ${JSON.stringify(result.test)} ${result.seconds.toFixed(0)} s`,
    );
    model.dispose();
  }
  if (has('report')) {
    const results = readResults(out);
    const figures = flag('figures', out);
    mkdirSync(figures, { recursive: true });
    const markdown = `${table(results)}\n\n${decoderTable(results)}`;
    writeFileSync(join(figures, 'table.md'), `${markdown}\n`);
    console.log(markdown);
    await drawCurves(join(figures, 'curves'), results);
    if (!has('table-only')) {
      const digits = data.test.sets.slice(0, 6);
      await drawReconstructions(join(figures, 'reconstructions'), join(out, 'checkpoints'), digits);
      await drawReconstructions(
        join(figures, 'dspn-decoders'),
        join(out, 'checkpoints'),
        digits,
        DECODER_RUNS,
      );
      // DSPN's own learned starting set (First-n, DSPN Fig. 1) and Top-n's
      for (const [file, run] of [
        ['dspn-inner-loop', 'dspn-first-n-s0'],
        ['dspn-inner-loop-top-n', 'dspn-top-n-s0'],
      ]) {
        await drawInnerLoop(join(figures, file), join(out, 'checkpoints', run), digits.slice(0, 4));
      }
    }
    log(`report: ${results.length} runs, figures in ${figures}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
