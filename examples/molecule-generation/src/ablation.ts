// Table 6 analogue (Top-n paper, App. D.2): Top-n one-shot set VAEs trained with several
// reference-set sizes n0 on a variant of the dataset whose sets have at most 11 atoms; train
// reconstruction W and the valency W1 of generated sets, per n0 (mean ± 95 % CI over seeds).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { moleculeData, runOne, type StudyScale } from './experiment.js';
import { evaluateRun, fmt, meanCI, type RunMetrics } from './report.js';

/** The reference-set sizes of the paper's Table 6. */
export const ABLATION_REFERENCE_SIZES = [11, 13, 15, 20, 30, 50];

/** Table 6 of the paper (5 runs): n0 → [W2 train loss, valency loss ×10]. */
export const PAPER_TABLE6: Record<number, [number, number][]> = {
  11: [
    [0.75, 0.04],
    [2.8, 0.7],
  ],
  13: [
    [0.78, 0.03],
    [2.2, 0.7],
  ],
  15: [
    [0.79, 0.04],
    [2.1, 0.9],
  ],
  20: [
    [0.87, 0.05],
    [2.4, 1.2],
  ],
  30: [
    [0.93, 0.04],
    [1.6, 0.2],
  ],
  50: [
    [1.03, 0.06],
    [2.8, 0.8],
  ],
};

/** The study's scale on the Table 6 dataset (sets of at most 11 atoms); fewer generated sets. */
export function ablationScale(base: StudyScale, generated = Math.min(base.generated, 500)): StudyScale {
  return { ...base, maxSize: 11, generated, model: { ...base.model, maxSize: 11 } };
}

export interface AblationOptions {
  scale: StudyScale;
  seeds: number[];
  referenceSizes: number[];
  out: string;
  /** Random pairs for the diversity score. */
  pairs: number;
  log?: (line: string) => void;
}

/** Trains (or resumes) every Top-n run `n0-<n0>-<seed>`, scores them, writes `table6.md`; returns its text. */
export async function runAblation(options: AblationOptions): Promise<string> {
  const { scale, seeds, referenceSizes, out, pairs } = options;
  const log = options.log ?? (() => {});
  const data = moleculeData(scale);
  mkdirSync(out, { recursive: true });
  log(
    `Table 6 ablation: ${data.train.length} train sets of at most ${scale.maxSize} atoms; n0 = ${referenceSizes}`,
  );
  const runs: (RunMetrics & { referenceSize: number })[] = [];
  for (const seed of seeds) {
    for (const referenceSize of referenceSizes) {
      const dir = join(out, `n0-${referenceSize}-${seed}`);
      const result = await runOne(data, {
        creation: 'topn',
        seed,
        scale: { ...scale, model: { ...scale.model, referenceSize } },
        dir,
        log,
      });
      log(`done n0=${referenceSize}/${seed}: ${JSON.stringify(result)}`);
      const metrics = evaluateRun(dir, data, pairs);
      if (metrics) runs.push({ ...metrics, referenceSize });
    }
  }
  const text = ablationTable(runs);
  writeFileSync(join(out, 'table6.md'), `${text}\n`);
  writeFileSync(join(out, 'metrics.json'), JSON.stringify(runs, null, 1));
  return text;
}

/** Markdown: one row per n0, ours beside the paper's. */
export function ablationTable(runs: (RunMetrics & { referenceSize: number })[]): string {
  const lines = [
    '| reference points n0 | seeds | train W (μ) | last-epoch train recon | gen. valency W1 (e-1) | gen. incorrect valency % | paper: W2 train loss | paper: valency loss (e-1) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const sizes = [...new Set(runs.map((r) => r.referenceSize))].sort((a, b) => a - b);
  for (const n0 of sizes) {
    const mine = runs.filter((r) => r.referenceSize === n0);
    const paper = PAPER_TABLE6[n0];
    const cells = [
      fmt(...meanCI(mine.map((r) => r.trainW))),
      fmt(...meanCI(mine.map((r) => r.trainLoss))),
      fmt(...meanCI(mine.map((r) => 10 * r.generation.valencyW1)), 1),
      fmt(...meanCI(mine.map((r) => r.generation.incorrectPercent)), 1),
      paper ? fmt(...paper[0]) : '—',
      paper ? fmt(...paper[1], 1) : '—',
    ];
    lines.push(`| ${n0} | ${mine.map((r) => r.seed).join(',')} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
