// Scores the study's runs (cached per run in `metrics.json`), writes the Table 4 analogue
// (mean ± 95 % CI over seeds, the paper's numbers beside ours) and the pictures.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { meanCi } from '@setgen/example-kit';
import { histogram, pointSetGrid, sideBySide, stacked, trainingCurves } from '@setgen/example-plot';
import { saveFigure } from '@setgen/example-plot/node';
import { constrainedLoss, incorrectValencyFraction, valencies } from '@setgen/metrics';
import type { CreationMethod } from '@setgen/models/node';
import type { HostSet } from '@setgen/ops';
import { type MoleculeData, positions, type RunResult, readGenerated } from './experiment.js';

/** Table 4 of the paper (mean ± 95 % CI over 5 runs; W columns are the code's W1, see README). */
export const PAPER_TABLE4: Record<CreationMethod, number[][]> = {
  // [train W, test W, gen valency W, gen incorrect %, gen diversity, extra valency W, extra incorrect %, extra diversity]
  mlp: [
    [0.47, 0.07],
    [0.42, 0.03],
    [0.73, 0.06],
    [22.4, 2.2],
    [4.6, 0.1],
    [1.06, 0.14],
    [26.6, 1.9],
    [4.3, 0.2],
  ],
  iid: [
    [1.2, 0.01],
    [0.81, 0.12],
    [1.4, 0.07],
    [36.8, 20.9],
    [5.0, 0.3],
    [0.24, 0.06],
    [7.8, 0.5],
    [4.9, 0.2],
  ],
  firstn: [
    [0.43, 0.08],
    [0.5, 0.07],
    [0.84, 0.06],
    [24.6, 2.1],
    [5.1, 0.3],
    [0.81, 0.19],
    [22.5, 3.0],
    [4.6, 0.3],
  ],
  topn: [
    [0.58, 0.05],
    [0.44, 0.03],
    [0.37, 0.12],
    [13.9, 3.7],
    [4.8, 0.2],
    [0.8, 0.1],
    [17.0, 1.8],
    [4.5, 0.2],
  ],
};
const NAMES: Record<CreationMethod, string> = { mlp: 'MLP', iid: 'i.i.d.', firstn: 'First-n', topn: 'Top-n' };
const ORDER: CreationMethod[] = ['mlp', 'iid', 'firstn', 'topn'];

/** What is scored per run. */
export interface RunMetrics extends RunResult {
  generation: GenerationScores;
  extrapolation: GenerationScores;
}

export interface GenerationScores {
  valencyW1: number;
  incorrectPercent: number;
  diversity: number;
  boundingBox: number;
  minDistance: number;
  cardinalityW1: number;
  meanSize: number;
}

/** The generation metrics of `sets` against the training data (`pairs` random pairs for diversity). */
export function scores(sets: HostSet[], data: MoleculeData, pairs: number): GenerationScores {
  const all = constrainedLoss(sets, {
    datasetValencyHistogram: data.valencyHistogram,
    datasetSizeHistogram: data.sizeHistogram,
    pairs,
    seed: 0,
  });
  return {
    valencyW1: all.valencyW1,
    incorrectPercent: 100 * incorrectValencyFraction(sets),
    diversity: all.diversity,
    boundingBox: all.boundingBox,
    minDistance: all.minDistance,
    cardinalityW1: all.cardinalityW1,
    meanSize: sets.reduce((a, s) => a + s.n, 0) / sets.length,
  };
}

/** Scores one finished run (cached in `dir/metrics.json`). */
export function evaluateRun(dir: string, data: MoleculeData, pairs: number): RunMetrics | null {
  const cached = join(dir, 'metrics.json');
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));
  if (!existsSync(join(dir, 'result.json'))) return null;
  const result: RunResult = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
  const { generated, extrapolated } = readGenerated(dir);
  const metrics: RunMetrics = {
    ...result,
    generation: scores(generated, data, pairs),
    extrapolation: scores(extrapolated, data, pairs),
  };
  writeFileSync(cached, JSON.stringify(metrics, null, 1));
  return metrics;
}

/** Mean and the half-width of its 95 % confidence interval (Student t), as a pair for `fmt`. */
export function meanCI(values: number[]): [number, number] {
  const { mean, ci } = meanCi(values);
  return [mean, ci];
}

export const fmt = (m: number, ci: number, digits = 2) =>
  `${m.toFixed(digits)} ± ${Number.isNaN(ci) ? '—' : ci.toFixed(digits)}`;

/** The Table 4 analogue and the extra constrained_loss terms, as Markdown. */
export function table(runs: RunMetrics[]): string {
  const columns: [string, (r: RunMetrics) => number, number][] = [
    ['train W', (r) => r.trainW, 2],
    ['test W', (r) => r.testW, 2],
    ['gen. valency W1', (r) => r.generation.valencyW1, 2],
    ['gen. incorrect valency %', (r) => r.generation.incorrectPercent, 1],
    ['gen. diversity', (r) => r.generation.diversity, 2],
    ['extrap. valency W1', (r) => r.extrapolation.valencyW1, 2],
    ['extrap. incorrect valency %', (r) => r.extrapolation.incorrectPercent, 1],
    ['extrap. diversity', (r) => r.extrapolation.diversity, 2],
  ];
  const lines = [
    `| creation | seeds | ${columns.map((c) => c[0]).join(' | ')} |`,
    `|---|---|${columns.map(() => '---').join('|')}|`,
  ];
  for (const creation of ORDER) {
    const mine = runs.filter((r) => r.creation === creation);
    if (mine.length === 0) continue;
    const cells = columns.map(([, get, digits]) => fmt(...meanCI(mine.map(get)), digits));
    lines.push(
      `| **${NAMES[creation]}** (ours) | ${mine.map((r) => r.seed).join(',')} | ${cells.join(' | ')} |`,
    );
    const paper = PAPER_TABLE4[creation].map(([m, ci], k) => fmt(m, ci, columns[k][2]));
    lines.push(`| ${NAMES[creation]} (paper) | 5 runs | ${paper.join(' | ')} |`);
  }
  const extra: [string, (r: RunMetrics) => number, number][] = [
    ['last-epoch train recon (posterior z)', (r) => r.trainLoss, 2],
    ['gen. bounding box', (r) => r.generation.boundingBox, 3],
    ['gen. min-distance', (r) => r.generation.minDistance, 3],
    ['gen. cardinality W1', (r) => r.generation.cardinalityW1, 2],
    ['extrap. min-distance', (r) => r.extrapolation.minDistance, 3],
    ['extrap. mean size', (r) => r.extrapolation.meanSize, 1],
    ['train minutes', (r) => r.seconds / 60, 1],
  ];
  lines.push(
    '',
    `| creation | ${extra.map((c) => c[0]).join(' | ')} |`,
    `|---|${extra.map(() => '---').join('|')}|`,
  );
  for (const creation of ORDER) {
    const mine = runs.filter((r) => r.creation === creation);
    if (mine.length === 0) continue;
    lines.push(
      `| ${NAMES[creation]} | ${extra.map(([, get, digits]) => fmt(...meanCI(mine.map(get)), digits)).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** Every run directory under `out` (named `<creation>-<seed>`). */
export function runDirectories(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((name) => /^(topn|firstn|iid|mlp)-\d+$/.test(name))
    .map((name) => join(out, name));
}

/** Bonds (pairs closer than 2) of a 3-D set. */
function bonds(set: HostSet): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < set.n; i++) {
    for (let j = i + 1; j < set.n; j++) {
      let s = 0;
      for (let c = 0; c < 3; c++) s += (set.values[i * set.d + c] - set.values[j * set.d + c]) ** 2;
      if (s < 4) out.push([i, j]);
    }
  }
  return out;
}

/** Centred and seen from an oblique direction (rotations of 35° about x, then 25° about y). */
function obliqueView(set: HostSet): HostSet {
  const [a, b] = [(35 * Math.PI) / 180, (25 * Math.PI) / 180];
  const mean = [0, 1, 2].map((c) => {
    let s = 0;
    for (let i = 0; i < set.n; i++) s += set.values[i * set.d + c];
    return s / set.n;
  });
  const values = new Float64Array(set.n * 3);
  for (let i = 0; i < set.n; i++) {
    const [x, y, z] = [0, 1, 2].map((c) => set.values[i * set.d + c] - mean[c]);
    const [y1, z1] = [y * Math.cos(a) - z * Math.sin(a), y * Math.sin(a) + z * Math.cos(a)];
    const [x2, z2] = [x * Math.cos(b) + z1 * Math.sin(b), -x * Math.sin(b) + z1 * Math.cos(b)];
    values.set([x2, y1, z2], i * 3);
  }
  return { values, n: set.n, d: 3 };
}

/** Pictures: sets with bonds coloured by valency, valency and size histograms, training curves. */
export async function figures(out: string, data: MoleculeData, columns = 6): Promise<string[]> {
  const written: string[] = [];
  const seed1 = (creation: CreationMethod) => join(out, `${creation}-1`);
  const rows: { label: string; sets: HostSet[] }[] = [
    { label: 'training set', sets: data.train.slice(0, columns).map(positions) },
  ];
  const generatedBy = new Map<CreationMethod, { generated: HostSet[]; extrapolated: HostSet[] }>();
  for (const creation of ORDER) {
    if (!existsSync(join(seed1(creation), 'generated.json'))) continue;
    const saved = readGenerated(seed1(creation));
    generatedBy.set(creation, saved);
    rows.push({ label: NAMES[creation], sets: saved.generated.slice(0, columns) });
  }
  const sets = rows.flatMap((r) => r.sets);
  const views = sets.map(obliqueView);
  const valency = sets.map((s) => Array.from(valencies(s), (v) => (v > 4 ? '5+' : String(v))));
  await saveFigure(
    join(out, 'figures', 'sets'),
    pointSetGrid(views, {
      title: 'Training sets and generated sets (seed 1), oblique view, bonds < 2, coloured by valency',
      columns,
      bounds: [
        [-6, 6],
        [-6, 6],
      ],
      captions: rows.flatMap((r) => r.sets.map((s, k) => (k === 0 ? `${r.label} (n=${s.n})` : `n=${s.n}`))),
      categories: valency,
      categoryDomain: ['0', '1', '2', '3', '4', '5+'],
      colorRange: ['#d62728', '#9ecae1', '#6baed6', '#3182bd', '#08519c', '#ff7f0e'],
      colorTitle: 'valency',
      segments: sets.map(bonds),
      pointSize: 18,
    }),
  );
  written.push('figures/sets.png');
  // valencies above 8 are counted as 8 (the tail of collapsed sets), so the axis stays readable
  const all = (list: HostSet[]) => list.flatMap((s) => Array.from(valencies(s), (v) => Math.min(v, 8)));
  const trainValencies = all(data.train.map(positions));
  const valencyPanels = [...generatedBy].map(([creation, g]) =>
    histogram(
      [
        { name: 'data', values: trainValencies },
        { name: 'generated', values: all(g.generated) },
        { name: 'extrapolated (+10)', values: all(g.extrapolated) },
      ],
      {
        title: NAMES[creation],
        xTitle: 'valency (8 = 8 or more)',
        normalize: true,
        discrete: true,
        width: 220,
        height: 150,
      },
    ),
  );
  const sizePanels = [...generatedBy].map(([creation, g]) =>
    histogram(
      [
        { name: 'data', values: data.train.map((s) => s.n) },
        { name: 'generated', values: g.generated.map((s) => s.n) },
        { name: 'extrapolated (+10)', values: g.extrapolated.map((s) => s.n) },
      ],
      {
        title: NAMES[creation],
        xTitle: 'set size',
        normalize: true,
        discrete: true,
        width: 220,
        height: 150,
      },
    ),
  );
  if (valencyPanels.length > 0) {
    await saveFigure(
      join(out, 'figures', 'histograms'),
      stacked([sideBySide(valencyPanels), sideBySide(sizePanels)], {
        title: 'Valency and set size: data vs generated vs extrapolated (seed 1)',
      }),
    );
    written.push('figures/histograms.png');
  }
  const logs = ORDER.filter((c) => existsSync(join(seed1(c), 'log.jsonl'))).map((creation) => ({
    creation,
    lines: readFileSync(join(seed1(creation), 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>),
  }));
  if (logs.length > 0) {
    const series = (key: string) =>
      logs.map(({ creation, lines }) => ({
        name: NAMES[creation],
        values: lines.map((l) => Math.max(l[key], 1e-6)),
      }));
    await saveFigure(
      join(out, 'figures', 'training'),
      sideBySide([
        trainingCurves(series('recon'), { logY: true, yTitle: 'W reconstruction per set', xTitle: 'epoch' }),
        trainingCurves(series('valency'), { logY: true, yTitle: 'valency penalty per set', xTitle: 'epoch' }),
      ]),
    );
    written.push('figures/training.png');
  }
  return written;
}
