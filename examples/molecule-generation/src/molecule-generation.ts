// CLI of the molecule-like experiment. `train` runs (or resumes) the study's runs; `--worker
// k/K` takes every K-th run so K processes can share the work.
import { join } from 'node:path';
import { CREATION_METHODS, type CreationMethod } from '@setgen/models/node';
import { pickBackend } from './backend.js';
import { moleculeData, runOne, SCALES } from './experiment.js';

const HELP = `molecule-generation — Top-n paper §5.3 (Table 4) analogue

  node dist/main.js train [--scale quick|study] [--creations topn,firstn,iid,mlp]
                          [--seeds 1,2,3] [--epochs E] [--out DIR] [--worker k/K]

Default: --scale quick (minutes), all four creations, seeds 1,2,3, --out runs/quick.`;

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

export async function runMoleculeGeneration(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return;
  }
  const command = args[0] && !args[0].startsWith('--') ? args[0] : 'train';
  const scaleName = (flag(args, 'scale') ?? 'quick') as keyof typeof SCALES;
  if (!(scaleName in SCALES)) throw new Error(`--scale: expected quick | study, got ${scaleName}`);
  const scale = { ...SCALES[scaleName] };
  const epochs = flag(args, 'epochs');
  if (epochs) scale.epochs = Number(epochs);
  const creations = (flag(args, 'creations') ?? CREATION_METHODS.join(',')).split(',') as CreationMethod[];
  const seeds = (flag(args, 'seeds') ?? '1,2,3').split(',').map(Number);
  const out = flag(args, 'out') ?? join('runs', scaleName);
  const [k, K] = (flag(args, 'worker') ?? '0/1').split('/').map(Number);
  if (command === 'train') {
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
    return;
  }
  throw new Error(`unknown command ${command}; see --help`);
}
