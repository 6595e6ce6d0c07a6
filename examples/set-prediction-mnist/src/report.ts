// The study's table and pictures from the finished runs: mean ± 95 % CI over seeds (Student
// t) of each model's own held-out loss, converted to the Top-n paper's convention, beside its
// Table 1; training curves; inputs beside reconstructions for every method; DSPN's inner loop.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toSetBatch } from '@setgen/data';
import { meanCi } from '@setgen/example-kit';
import { pointSetGrid, sideBySide, trainingCurves } from '@setgen/example-plot';
import { saveFigure } from '@setgen/example-plot/node';
import { DSPN, loadModel, type TSPN } from '@setgen/models/node';
import type { HostSet } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import type { RunResult } from './study.js';

export { meanCi };

/** Top-n paper Table 1 (×1e-5, 6 runs, mean ± 95 % CI). */
export const PAPER: Record<string, Record<string, string>> = {
  tspn: { iid: '16.42 ± 0.53', 'first-n': '15.45 ± 1.41', 'top-n': '14.98 ± 0.59' },
  dspn: { iid: '28.56 ± 1.23', 'first-n': '26.61 ± 0.54', 'top-n': '22.59 ± 1.71' },
};

/**
 * DSPN paper Table 1 (Chamfer on Set-MNIST autoencoding, ×1e-3 — its caption is lost in our
 * text copy; ×1e-3 is the scale consistent with Top-n's 26.61e-5 = 3 × 8.9e-5, App. D.1 —
 * mean ± sd over 6 runs, pair cost averaged over the C + 1 = 3 features).
 */
export const DSPN_PAPER: Record<string, string> = {
  'first-n': '0.09 ± 0.01',
  'mlp-decoder': '0.21 ± 0.18',
  'lstm-decoder': '0.49 ± 0.19',
};

/** The scored term: DSPN's final-set Chamfer (mask as feature), TSPN's Chamfer. */
export function scoredTerm(result: RunResult): number {
  return result.spec.model === 'dspn' ? result.test.final : result.test.chamfer;
}

/** Features the pair cost averages over: C + 1 with DSPN's mask feature, C for TSPN. */
export function channels(model: string): number {
  return model === 'dspn' ? 3 : 2;
}

export function readResults(dir: string): RunResult[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as RunResult);
}

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

/** Markdown table: per model × creation, seeds, held-out (and training) loss ×1e-5 both conventions. */
export function table(results: RunResult[]): string {
  const rows = [
    '| model | creation | seeds | held-out, ours (mean over C) ×1e-5 | held-out, × C = Top-n convention ×1e-5 | training digits, × C ×1e-5 | Top-n Table 1 ×1e-5 | minutes / run |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const order = ['iid', 'first-n', 'top-n', 'mlp']; // the decoders: decoderTable
  for (const model of ['dspn', 'tspn']) {
    for (const creation of order) {
      const runs = results.filter((r) => r.spec.model === model && r.spec.creation === creation);
      if (runs.length === 0) continue;
      const held = meanCi(runs.map((r) => scoredTerm(r) * 1e5));
      const k = channels(model);
      const train = meanCi(runs.map((r) => (model === 'dspn' ? r.train.final : r.train.chamfer) * 1e5 * k));
      const minutes = runs.reduce((a, r) => a + r.seconds, 0) / runs.length / 60;
      rows.push(
        `| ${model.toUpperCase()} | ${creation} | ${runs.map((r) => r.spec.seed).join(',')} | ${fmt(held.mean)} ± ${fmt(held.ci)} | ${fmt(held.mean * k)} ± ${fmt(held.ci * k)} | ${fmt(train.mean)} ± ${fmt(train.ci)} | ${PAPER[model]?.[creation] ?? '–'} | ${fmt(minutes)} |`,
      );
    }
  }
  return rows.join('\n');
}

/**
 * DSPN Table 1's comparison: the inner-loop decoder (DSPN's learned starting set = First-n)
 * against the MLP and LSTM decoders, same encoder. Held-out Chamfer ×1e-3 of the final set
 * (ours = DSPN's convention, mean over the C + 1 features) and the mean over Ŷ⁰…Ŷᵀ (the
 * training loss; the same for the one-shot baselines).
 */
export function decoderTable(results: RunResult[]): string {
  const rows = [
    '| decoder | seeds | params | held-out Chamfer, final set ×1e-3 | held-out, mean over Ŷ⁰…Ŷᵀ ×1e-3 | training digits, final ×1e-3 | DSPN Table 1 ×1e-3 | minutes / run |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const names: Record<string, string> = {
    'first-n': 'DSPN inner loop (T = 10)',
    'mlp-decoder': 'MLP decoder',
    'lstm-decoder': 'LSTM decoder',
  };
  for (const creation of Object.keys(names)) {
    const runs = results.filter((r) => r.spec.model === 'dspn' && r.spec.creation === creation);
    if (runs.length === 0) continue;
    const final = meanCi(runs.map((r) => r.test.final * 1e3));
    const steps = meanCi(runs.map((r) => r.test.chamfer * 1e3));
    const train = meanCi(runs.map((r) => r.train.final * 1e3));
    const minutes = runs.reduce((a, r) => a + r.seconds, 0) / runs.length / 60;
    rows.push(
      `| ${names[creation]} | ${runs.map((r) => r.spec.seed).join(',')} | ${runs[0].params} | ${fmt(final.mean, 3)} ± ${fmt(final.ci, 3)} | ${fmt(steps.mean, 3)} ± ${fmt(steps.ci, 3)} | ${fmt(train.mean, 3)} ± ${fmt(train.ci, 3)} | ${DSPN_PAPER[creation]} | ${fmt(minutes)} |`,
    );
  }
  return rows.join('\n');
}

/** Loss curves of every run, one panel per model, one colour per creation (seed in the name). */
export async function drawCurves(path: string, results: RunResult[]): Promise<void> {
  const models = ['dspn', 'tspn'].filter((model) => results.some((r) => r.spec.model === model));
  const panels = models.map((model) =>
    trainingCurves(
      results
        .filter((r) => r.spec.model === model)
        .sort((a, b) => `${a.spec.creation}${a.spec.seed}`.localeCompare(`${b.spec.creation}${b.spec.seed}`))
        .map((r) => ({
          name: `${r.spec.creation} s${r.spec.seed}`,
          values: r.curve.map((c) => c.chamfer ?? c.total),
        })),
      {
        logY: true,
        title: model.toUpperCase(),
        yTitle:
          model === 'dspn' ? 'training Chamfer (mean over Ŷ⁰…Ŷᵀ)' : 'training Chamfer (size CE not included)',
      },
    ),
  );
  await saveFigure(path, sideBySide(panels));
}

/** The valid rows of set b (mask > 0.5). */
function hostSet(x: tf.Tensor3D, mask: tf.Tensor2D, b: number): HostSet {
  const values = x.arraySync()[b];
  const m = mask.arraySync()[b];
  const rows = values.filter((_, i) => m[i] > 0.5);
  return { values: Float32Array.from(rows.flat()), n: rows.length, d: x.shape[2] };
}

const UNIT = [
  [-0.05, 1.05],
  [-0.05, 1.05],
] as const;

/** Every creation method of both models (seed 0), as the reconstructions figure shows them. */
export const CREATION_RUNS = ['dspn', 'tspn'].flatMap((model) =>
  ['iid', 'first-n', 'top-n', 'mlp'].map((creation) => `${model}-${creation}-s0`),
);
/** DSPN Table 1's decoders (seed 0). */
export const DECODER_RUNS = ['dspn-first-n-s0', 'dspn-mlp-decoder-s0', 'dspn-lstm-decoder-s0'];

/** Inputs (first row) and each run's reconstruction (one row per checkpoint found). */
export async function drawReconstructions(
  path: string,
  checkpoints: string,
  digits: HostSet[],
  runs: string[] = CREATION_RUNS,
): Promise<void> {
  const batch = toSetBatch(digits);
  const sets: HostSet[] = [...digits];
  const groups: string[] = digits.map(() => 'input');
  for (const name of runs) {
    const dir = join(checkpoints, name);
    if (!existsSync(join(dir, 'model.json'))) continue;
    const model = (await loadModel(dir)) as DSPN | TSPN;
    const out =
      model instanceof DSPN
        ? (() => {
            const p = model.reconstruct(batch.x, batch.mask);
            const last = { x: p.sets[p.sets.length - 1], mask: p.masks[p.masks.length - 1] };
            tf.dispose([...p.sets.slice(0, -1), ...p.masks.slice(0, -1)]);
            return last;
          })()
        : model.reconstruct(batch.x, batch.mask, { seed: 1 });
    digits.forEach((_, b) => {
      sets.push(hostSet(out.x, out.mask, b));
      groups.push(name.replace('-s0', ''));
    });
    tf.dispose([out.x, out.mask]);
    model.dispose();
  }
  tf.dispose([batch.x, batch.mask as tf.Tensor]);
  await saveFigure(path, pointSetGrid(sets, { columns: digits.length, groups, bounds: UNIT, panelSize: 90 }));
}

/** DSPN's inner loop: Ŷ⁰, Ŷ², …, Ŷᵀ (and 2T at prediction) per digit, points coloured by m̂. */
export async function drawInnerLoop(path: string, checkpoint: string, digits: HostSet[]): Promise<void> {
  if (!existsSync(join(checkpoint, 'model.json'))) return;
  const model = (await loadModel(checkpoint)) as DSPN;
  const batch = toSetBatch(digits);
  const T = model.config.iterations;
  const p = model.reconstruct(batch.x, batch.mask, { iterations: 2 * T });
  const steps = [0, 2, 4, 6, 8, T, 2 * T];
  const sets: HostSet[] = [];
  const values: Float32Array[] = [];
  const captions: string[] = [];
  digits.forEach((digit, b) => {
    sets.push(digit);
    values.push(new Float32Array(digit.n).fill(1));
    captions.push('input');
    for (const t of steps) {
      const x = p.sets[t].arraySync()[b];
      const m = p.masks[t].arraySync()[b];
      sets.push({ values: Float32Array.from(x.flat()), n: x.length, d: 2 });
      values.push(Float32Array.from(m));
      captions.push(t === 2 * T ? `t = ${t} (beyond training)` : `t = ${t}`);
    }
  });
  tf.dispose([batch.x, batch.mask as tf.Tensor, ...p.sets, ...p.masks]);
  model.dispose();
  await saveFigure(
    path,
    pointSetGrid(sets, {
      columns: steps.length + 1,
      values,
      colorTitle: 'mask m̂',
      captions,
      bounds: UNIT,
      panelSize: 90,
    }),
  );
}
