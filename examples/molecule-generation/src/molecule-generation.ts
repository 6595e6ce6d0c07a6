// CLI of the molecule-like experiment. `train` runs (or resumes) the study's runs; `--worker
// k/K` takes every K-th run so K processes can share the work.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickBackend } from '@setgen/example-kit';
import { CREATION_METHODS, type CreationMethod } from '@setgen/models/node';
import { ABLATION_REFERENCE_SIZES, ablationScale, runAblation } from './ablation.js';
import { moleculeData, runOne, SCALES } from './experiment.js';
import { evaluateRun, figures, type RunMetrics, runDirectories, table } from './report.js';

const HELP = `molecule-generation — Top-n paper §5.3 (Table 4) analogue

  node dist/main.js train [--scale quick|study] [--creations topn,firstn,iid,mlp]
                          [--seeds 1] [--epochs E] [--out DIR] [--worker k/K]

  node dist/main.js report [--scale quick|study] [--out DIR] [--pairs P]
      scores every finished run (cached in DIR/<run>/metrics.json), writes DIR/table.md
      (mean ± 95 % CI over seeds, the paper's Table 4 beside) and DIR/figures/*.png

  node dist/main.js [--scale quick]   train, then report (the short default run)

  node dist/main.js ablation [--scale study] [--seeds 1,2] [--reference-sizes 11,13,15,20,30,50]
                             [--generated G] [--pairs P] [--out DIR]
      Table 6 analogue: Top-n with several reference-set sizes n0 on sets of at most 11
      atoms (--out default runs/ablation-<scale>); writes DIR/table6.md

Default: --scale quick (minutes), all four creations, seed 1 (study: seeds 1,2,3), --out runs/<scale>.`;

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

export async function runMoleculeGeneration(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return;
  }
  const command = args[0] && !args[0].startsWith('--') ? args[0] : 'all';
  const scaleName = (flag(args, 'scale') ?? 'quick') as keyof typeof SCALES;
  if (!(scaleName in SCALES)) throw new Error(`--scale: expected smoke | quick | study, got ${scaleName}`);
  const scale = { ...SCALES[scaleName] };
  const epochs = flag(args, 'epochs');
  if (epochs) scale.epochs = Number(epochs);
  const creations = (flag(args, 'creations') ?? CREATION_METHODS.join(',')).split(',') as CreationMethod[];
  const seeds = (flag(args, 'seeds') ?? (scaleName === 'study' ? '1,2,3' : '1')).split(',').map(Number);
  const out = flag(args, 'out') ?? join('runs', scaleName);
  const [k, K] = (flag(args, 'worker') ?? '0/1').split('/').map(Number);
  if (command === 'ablation') {
    const backend = await pickBackend();
    const generated = flag(args, 'generated');
    const text = await runAblation({
      scale: ablationScale(scale, generated ? Number(generated) : undefined),
      seeds: (flag(args, 'seeds') ?? '1,2').split(',').map(Number),
      referenceSizes: (flag(args, 'reference-sizes') ?? ABLATION_REFERENCE_SIZES.join(','))
        .split(',')
        .map(Number),
      out: flag(args, 'out') ?? join('runs', `ablation-${scaleName}`),
      pairs: Number(flag(args, 'pairs') ?? 200),
      log: (line) => console.log(`[${backend}] ${line}`),
    });
    console.log(text);
    return;
  }
  if (command === 'train' || command === 'all') {
    const backend = await pickBackend();
    const data = moleculeData(scale);
    console.log(
      `backend ${backend}; ${data.train.length} train / ${data.test.length} test sets; ${JSON.stringify(scale)}`,
    );
    const runs = seeds.flatMap((seed) => creations.map((creation) => ({ creation, seed })));
    for (const [index, { creation, seed }] of runs.entries()) {
      if (index % K !== k) continue;
      const result = await runOne(data, {
        creation,
        seed,
        scale,
        dir: join(out, `${creation}-${seed}`),
        log: console.log,
      });
      console.log(`done ${creation}/${seed}: ${JSON.stringify(result)}`);
    }
    if (command === 'train') return;
  }
  if (command === 'report' || command === 'all') {
    const data = moleculeData(scale);
    const pairs = Number(flag(args, 'pairs') ?? 1000);
    const runs = runDirectories(out)
      .map((dir) => evaluateRun(dir, data, pairs))
      .filter((r): r is RunMetrics => r !== null);
    const text = table(runs);
    writeFileSync(join(out, 'table.md'), `${text}\n`);
    writeFileSync(join(out, 'metrics.json'), JSON.stringify(runs, null, 1));
    console.log(text);
    const written = await figures(out, data);
    console.log(`wrote ${join(out, 'table.md')}, ${written.map((f) => join(out, f)).join(', ')}`);
    return;
  }
  throw new Error(`unknown command ${command}; see --help`);
}
