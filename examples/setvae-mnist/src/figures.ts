// The example's pictures (SetVAE Fig. 4–8 in spirit): samples, reconstructions beside their
// inputs, one latent draw decoded at several cardinalities, encoder attention, loss curves.
// Each is a Vega-Lite spec from @setgen/example-plot, written as .svg, .png and .vl.json.

import { toSetBatch } from '@setgen/data';
import {
  attentionGrid,
  type Bounds,
  metricCurves,
  pointSetGrid,
  sideBySide,
  stacked,
  trainingCurves,
} from '@setgen/example-plot';
import { saveFigure } from '@setgen/example-plot/node';
import type { SetVAE, TrainProgress } from '@setgen/models';
import type { HostSet } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import { disposeOutput, toHostSets } from './evaluate.js';

const UNIT: Bounds = [
  [0, 1],
  [0, 1],
];

/** Writes the figure beside `path` (.svg, .png, .vl.json); returns the PNG's path. */
async function save(path: string, spec: Parameters<typeof saveFigure>[1]): Promise<string> {
  return (await saveFigure(path, spec)).png;
}

/** A grid of generated sets. */
export async function drawSamples(path: string, sets: HostSet[], title = 'Samples'): Promise<string> {
  return save(
    path,
    pointSetGrid(sets, {
      bounds: UNIT,
      columns: 8,
      captions: sets.map((s) => `N = ${s.n}`),
      title,
    }),
  );
}

/** Inputs (top row) and their reconstructions (bottom row). */
export async function drawReconstructions(path: string, model: SetVAE, inputs: HostSet[]): Promise<string> {
  const batch = toSetBatch(inputs);
  const out = model.reconstruct(batch, { seed: 3 });
  const recon = toHostSets(out);
  disposeOutput(out);
  tf.dispose([batch.x, batch.mask as tf.Tensor2D]);
  return save(
    path,
    pointSetGrid([...inputs, ...recon], {
      bounds: UNIT,
      columns: inputs.length,
      groups: [...inputs.map(() => 'test digit'), ...recon.map(() => 'reconstruction')],
      colorRange: ['#666666', '#1f4fc8'],
      title: 'Reconstructions',
    }),
  );
}

/** Each row: one seed (same latent noise) decoded at every cardinality in `sizes`. */
export async function drawCardinalities(
  path: string,
  model: SetVAE,
  sizes: number[],
  rows: number,
  temperature = 1,
): Promise<string> {
  const sets: HostSet[] = [];
  for (let r = 0; r < rows; r++) {
    for (const n of sizes) {
      const out = model.sample([n], { seed: 500 + r, temperature });
      sets.push(...toHostSets(out));
      disposeOutput(out);
    }
  }
  return save(
    path,
    pointSetGrid(sets, {
      bounds: UNIT,
      columns: sizes.length,
      panelSize: 128,
      captions: sets.map((s, k) => `seed ${500 + Math.floor(k / sizes.length)} · N = ${s.n}`),
      title: 'One latent draw per row at several cardinalities',
    }),
  );
}

/**
 * Encoder attention (SetVAE Fig. 7): each point coloured by the inducing point of the
 * projection h = MAB(I, x) that attends to it most (heads averaged); columns coarse → fine.
 */
export async function drawAttention(path: string, model: SetVAE, inputs: HostSet[]): Promise<string> {
  const batch = toSetBatch(inputs);
  const encoding = model.encode(batch);
  const levels = encoding.attention.map((attention) => {
    const [b, , m, n] = attention.shape;
    const owner = tf.tidy(() => tf.argMax(tf.mean(attention, 1), 1).dataSync()); // [B, N]
    return {
      title: `m = ${m}`,
      count: m,
      owner: Array.from({ length: b }, (_, s) => owner.subarray(s * n, s * n + inputs[s].n)),
    };
  });
  tf.dispose([...encoding.features, ...encoding.attention, batch.x, batch.mask as tf.Tensor2D]);
  return save(
    path,
    attentionGrid(inputs, levels, {
      bounds: UNIT,
      slotName: 'inducing point',
      title: 'Encoder attention: each point coloured by the inducing point that attends to it most',
    }),
  );
}

/** Chamfer (left) and KL (right) per step, log scale, raw points under an EMA-smoothed line. */
export async function drawLossCurve(path: string, history: TrainProgress[]): Promise<string> {
  const steps = history.map((p) => p.step);
  return save(
    path,
    sideBySide([
      trainingCurves([{ name: 'Chamfer', values: history.map((p) => p.losses.recon), steps }], {
        logY: true,
        yTitle: 'Chamfer distance',
      }),
      trainingCurves([{ name: 'KL', values: history.map((p) => p.losses.kl), steps }], {
        logY: true,
        yTitle: 'KL (nats)',
      }),
    ]),
  );
}

/**
 * A long run's evaluations against training steps: one panel per group of series (e.g.
 * metrics in %, the classifier score, the attention split per level), one above the other.
 */
export async function drawMetricCurves(
  path: string,
  panels: { title: string; series: { name: string; values: number[]; steps: number[] }[]; logY?: boolean }[],
): Promise<string> {
  // one column: the plot library gives each concatenated child its own dataset name
  return save(
    path,
    stacked(panels.map((panel) => metricCurves(panel.series, { yTitle: panel.title, logY: panel.logY }))),
  );
}
