// The example's pictures (SetVAE Fig. 4–8 in spirit): samples, reconstructions beside their
// inputs, one latent draw decoded at several cardinalities, encoder attention, loss curves.

import { toSetBatch } from '@setgen/data';
import {
  type Bounds,
  type Color,
  categoryColor,
  drawCurves,
  drawPoints,
  drawText,
  GREY,
  panelGrid,
  plotPointSets,
  savePng,
} from '@setgen/example-plot';
import type { SetVAE, SetVAEOutput, TrainProgress } from '@setgen/models';
import type { HostSet } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';

const UNIT: Bounds = [
  [0, 1],
  [0, 1],
];

function validRows(out: { x: tf.Tensor3D; mask: tf.Tensor2D }, b: number): HostSet {
  const [, n, d] = out.x.shape;
  const x = tf.tidy(() => tf.reshape(tf.slice(out.x, [b, 0, 0], [1, n, d]), [n, d]).dataSync());
  const m = tf.tidy(() => tf.slice(out.mask, [b, 0], [1, n]).dataSync());
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (m[i] === 1) rows.push(i);
  const values = new Float32Array(rows.length * d);
  rows.forEach((r, k) => {
    values.set(x.subarray(r * d, (r + 1) * d), k * d);
  });
  return { values, n: rows.length, d };
}

function disposeOutput(out: SetVAEOutput): void {
  tf.dispose([out.x, out.mask, ...out.attention.map((a) => a.attention)]);
}

/** A grid of generated sets. */
export async function drawSamples(path: string, sets: HostSet[]): Promise<string> {
  await savePng(path, plotPointSets(sets, { bounds: UNIT, columns: 8, panelSize: 112, radius: 1.4 }));
  return path;
}

/** Inputs (top row, grey) and their reconstructions (bottom row). */
export async function drawReconstructions(path: string, model: SetVAE, inputs: HostSet[]): Promise<string> {
  const batch = toSetBatch(inputs);
  const out = model.reconstruct(batch, { seed: 3 });
  const recon = inputs.map((_, b) => validRows(out, b));
  disposeOutput(out);
  tf.dispose([batch.x, batch.mask as tf.Tensor2D]);
  const { canvas, panels } = panelGrid(2 * inputs.length, { columns: inputs.length, panelSize: 112 });
  inputs.forEach((set, k) => {
    drawPoints(canvas, panels[k], set, { bounds: UNIT, radius: 1.4, color: [90, 90, 90] });
    drawPoints(canvas, panels[inputs.length + k], recon[k], {
      bounds: UNIT,
      radius: 1.4,
      color: [20, 60, 200],
    });
  });
  await savePng(path, canvas);
  return path;
}

/** Each row: one seed (same latent noise) decoded at every cardinality in `sizes`. */
export async function drawCardinalities(
  path: string,
  model: SetVAE,
  sizes: number[],
  rows: number,
): Promise<string> {
  const { canvas, panels } = panelGrid(rows * sizes.length, { columns: sizes.length, panelSize: 128 });
  for (let r = 0; r < rows; r++) {
    sizes.forEach((n, c) => {
      const out = model.sample([n], { seed: 500 + r });
      const set = validRows(out, 0);
      disposeOutput(out);
      drawPoints(canvas, panels[r * sizes.length + c], set, {
        bounds: UNIT,
        radius: n > 1000 ? 0.8 : n > 300 ? 1 : 1.6,
      });
    });
  }
  await savePng(path, canvas);
  return path;
}

/**
 * Encoder attention (SetVAE Fig. 7): each point coloured by the inducing point of the
 * projection h = MAB(I, x) that attends to it most (heads averaged); columns coarse → fine.
 */
export async function drawAttention(path: string, model: SetVAE, inputs: HostSet[]): Promise<string> {
  const batch = toSetBatch(inputs);
  const encoding = model.encode(batch);
  const levels = encoding.attention.length;
  const { canvas, panels } = panelGrid(inputs.length * levels, { columns: levels, panelSize: 112 });
  encoding.attention.forEach((attention, l) => {
    const [b, , m, n] = attention.shape;
    const owner = tf.tidy(() => tf.argMax(tf.mean(attention, 1), 1).dataSync()); // [B, N]
    for (let s = 0; s < b; s++) {
      const set = inputs[s];
      const colors: Color[] = Array.from({ length: set.n }, (_, i) =>
        m > 1 ? categoryColor(owner[s * n + i]) : GREY,
      );
      drawPoints(canvas, panels[s * levels + l], set, { bounds: UNIT, radius: 1.5, colors });
    }
  });
  tf.dispose([...encoding.features, ...encoding.attention, batch.x, batch.mask as tf.Tensor2D]);
  await savePng(path, canvas);
  return path;
}

/** Chamfer (left) and KL (right) per step, log scale. */
export async function drawLossCurve(path: string, history: TrainProgress[]): Promise<string> {
  const { canvas, panels } = panelGrid(2, { columns: 2, panelSize: 320 });
  drawCurves(canvas, panels[0], [{ values: history.map((p) => p.losses.recon), color: [20, 60, 200] }], {
    logY: true,
  });
  drawCurves(canvas, panels[1], [{ values: history.map((p) => p.losses.kl), color: [200, 60, 20] }], {
    logY: true,
  });
  const last = history.at(-1);
  drawText(
    canvas,
    panels[0].x + 6,
    panels[0].y + 6,
    `CHAMFER (LOG) ${last ? last.losses.recon.toFixed(3) : ''}`,
    {
      scale: 2,
    },
  );
  drawText(canvas, panels[1].x + 6, panels[1].y + 6, `KL (LOG) ${last ? last.losses.kl.toFixed(2) : ''}`, {
    scale: 2,
  });
  await savePng(path, canvas);
  return path;
}

/** One titled panel per curve: a long run's metrics against training steps (x = snapshots in order). */
export async function drawMetricCurves(
  path: string,
  curves: { title: string; values: number[]; logY?: boolean }[],
): Promise<string> {
  const { canvas, panels } = panelGrid(curves.length, {
    columns: Math.min(3, curves.length),
    panelSize: 260,
  });
  curves.forEach((curve, k) => {
    drawCurves(canvas, panels[k], [{ values: curve.values, color: categoryColor(k) }], { logY: curve.logY });
    drawText(canvas, panels[k].x + 6, panels[k].y + 6, curve.title, { scale: 2 });
  });
  await savePng(path, canvas);
  return path;
}
