import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mnistPackageDigits, polygons, setMnist, setMultiMnist, syntheticMolecules } from '@setgen/data';
import {
  type Bounds,
  type Canvas,
  categoryColor,
  drawBox,
  drawPoints,
  drawText,
  type Panel,
  panelGrid,
  savePng,
  toPixel,
} from '@setgen/example-plot';

export interface GalleryOptions {
  /** Samples per dataset. Default 24. */
  samples?: number;
  /** Panel side in pixels. Default 112. */
  panelSize?: number;
  columns?: number;
}

const UNIT: Bounds = [
  [0, 1],
  [0, 1],
];

/** A small caption in the panel's top-left corner. */
function caption(canvas: Canvas, panel: Panel, text: string) {
  drawText(canvas, panel.x + 3, panel.y + 3, text, { color: [90, 90, 90] });
}

/** Renders a grid of samples of every generator to `<outDir>/<dataset>.png`; returns the files written. */
export async function renderGallery(outDir: string, options: GalleryOptions = {}): Promise<string[]> {
  const samples = options.samples ?? 24;
  const grid = { panelSize: options.panelSize ?? 112, columns: options.columns ?? 8 };
  const written: string[] = [];
  const save = async (name: string, canvas: Parameters<typeof savePng>[1]) => {
    const path = join(outDir, `${name}.png`);
    await savePng(path, canvas);
    written.push(path);
  };

  // Set-MNIST: digits upright ('xy' layout), one colour per class; the digits come from the
  // `mnist` package, a dependency of this example (not of @setgen/data).
  const images = mnistPackageDigits([createRequire(import.meta.url).resolve]);
  const mnist = setMnist({ split: 'test', limit: samples, images });
  {
    const { canvas, panels } = panelGrid(samples, grid);
    mnist.sets.forEach((set, k) => {
      drawPoints(canvas, panels[k], set, {
        bounds: UNIT,
        radius: 1.2,
        color: categoryColor(mnist.labels[k]),
      });
      caption(canvas, panels[k], `${mnist.labels[k]} N=${set.n}`);
    });
    await save('set-mnist', canvas);
  }

  // Set-MultiMNIST: two digits and their boxes.
  const multi = setMultiMnist({ split: 'test', numSets: samples, images });
  {
    const { canvas, panels } = panelGrid(samples, grid);
    multi.sets.forEach((set, k) => {
      drawPoints(canvas, panels[k], set, { bounds: UNIT, radius: 0.8 });
      caption(canvas, panels[k], `${multi.labels[k].toString().padStart(2, '0')} N=${set.n}`);
      for (let j = 0; j < 2; j++) {
        const box = Array.from(multi.boxes.subarray(8 * k + 4 * j, 8 * k + 4 * j + 4)) as [
          number,
          number,
          number,
          number,
        ];
        drawBox(canvas, panels[k], box, { bounds: UNIT, color: categoryColor(multi.digitLabels[2 * k + j]) });
      }
    });
    await save('set-multi-mnist', canvas);
  }

  // Molecules: x-y projection of the 3-D atoms, bonds (< 2) as lines, colour = valency.
  const molecules = syntheticMolecules({ numSets: samples, seed: 0 });
  {
    const { canvas, panels } = panelGrid(samples, grid);
    molecules.sets.forEach((set, k) => {
      const panel = panels[k];
      const at = (i: number) => [set.values[3 * i], set.values[3 * i + 1], set.values[3 * i + 2]];
      // Centred on the molecule's centroid, the same scale (±7) for all.
      const centre = [0, 0];
      for (let i = 0; i < set.n; i++) for (let c = 0; c < 2; c++) centre[c] += at(i)[c] / set.n;
      const bounds: Bounds = [
        [centre[0] - 7, centre[0] + 7],
        [centre[1] - 7, centre[1] + 7],
      ];
      const pixel = (p: number[]) => toPixel(panel, bounds, p[0], p[1]);
      for (let i = 0; i < set.n; i++) {
        for (let j = i + 1; j < set.n; j++) {
          const [p, q] = [at(i), at(j)];
          if (Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) < 2) {
            const [a, b] = [pixel(p), pixel(q)];
            canvas.drawLine(a[0], a[1], b[0], b[1], [170, 170, 170]);
          }
        }
      }
      const colors = Array.from(molecules.valencies[k], (v) => categoryColor(v - 1));
      drawPoints(canvas, panel, set, { bounds, radius: 2.5, colors });
      caption(canvas, panel, `N=${set.n}`);
    });
    await save('synthetic-molecules', canvas);
  }

  // Polygons: the rotated squares, then random corner counts (colour = corner count).
  for (const [name, data] of [
    ['polygons-square', polygons({ numSets: samples, seed: 0 })],
    ['polygons-random-size', polygons({ numSets: samples, seed: 0, cornerRange: [3, 8] })],
  ] as const) {
    const { canvas, panels } = panelGrid(samples, grid);
    const bounds: Bounds = [
      [-1.2, 1.2],
      [-1.2, 1.2],
    ];
    data.sets.forEach((set, k) => {
      drawPoints(canvas, panels[k], set, { bounds, radius: 3, color: categoryColor(data.corners[k]) });
      caption(canvas, panels[k], `M=${set.n}`);
    });
    await save(name, canvas);
  }
  return written;
}
