import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mnistPackageDigits, polygons, setMnist, setMultiMnist, syntheticMolecules } from '@setgen/data';
import { type Bounds, type Box, histogram, pointSetGrid } from '@setgen/example-plot';
import { saveFigure } from '@setgen/example-plot/node';

export interface GalleryOptions {
  /** Samples per dataset in the point-set grids. Default 24. */
  samples?: number;
  /** Sets counted in the histograms (set sizes, valencies). Default 1000. */
  histogramSamples?: number;
  /** Panel side in pixels. Default 112. */
  panelSize?: number;
  columns?: number;
}

const UNIT: Bounds = [
  [0, 1],
  [0, 1],
];

/**
 * Renders samples of every generator to `<outDir>/<name>.{svg,png,vl.json}` (point-set grids and
 * histograms of set sizes and valencies); returns the PNG files written.
 */
export async function renderGallery(outDir: string, options: GalleryOptions = {}): Promise<string[]> {
  const samples = options.samples ?? 24;
  const counted = options.histogramSamples ?? 1000;
  const grid = { panelSize: options.panelSize ?? 112, columns: options.columns ?? 8 };
  const written: string[] = [];
  const save = async (name: string, spec: Parameters<typeof saveFigure>[1]) => {
    written.push((await saveFigure(join(outDir, name), spec)).png);
  };
  const digits = Array.from({ length: 10 }, (_, k) => k);

  // Set-MNIST: digits upright ('xy' layout), colour = class; the digits come from the `mnist`
  // package, a dependency of this example (not of @setgen/data).
  const images = mnistPackageDigits([createRequire(import.meta.url).resolve]);
  const mnist = setMnist({ split: 'test', limit: Math.max(samples, counted), images });
  const shown = mnist.sets.slice(0, samples);
  await save(
    'set-mnist',
    pointSetGrid(shown, {
      ...grid,
      bounds: UNIT,
      groups: shown.map((_, k) => mnist.labels[k]),
      categoryDomain: digits,
      colorTitle: 'digit',
      captions: shown.map((s, k) => `${mnist.labels[k]} · N = ${s.n}`),
      title: 'Set-MNIST (test)',
    }),
  );
  await save(
    'set-mnist-sizes',
    histogram(
      mnist.sets.slice(0, counted).map((s) => s.n),
      {
        xTitle: 'points per digit (set size)',
        title: `Set-MNIST set sizes (${Math.min(counted, mnist.sets.length)} test digits)`,
      },
    ),
  );

  // Set-MultiMNIST: two digits and their boxes, box colour = digit class.
  const multi = setMultiMnist({ split: 'test', numSets: samples, images });
  await save(
    'set-multi-mnist',
    pointSetGrid(multi.sets, {
      ...grid,
      bounds: UNIT,
      pointSize: 2,
      captions: multi.sets.map((s, k) => `${multi.labels[k].toString().padStart(2, '0')} · N = ${s.n}`),
      boxes: multi.sets.map((_, k) =>
        [0, 1].map((j): Box => {
          const [x0, y0, x1, y1] = multi.boxes.subarray(8 * k + 4 * j, 8 * k + 4 * j + 4);
          return { x0, y0, x1, y1, category: multi.digitLabels[2 * k + j] };
        }),
      ),
      categoryDomain: digits,
      colorTitle: 'digit',
      title: 'Set-MultiMNIST (test): two digits and their boxes',
    }),
  );

  // Molecules: x–y projection of the 3-D atoms centred on their centroid (±7 for all), bonds
  // (3-D distance < 2) as grey segments, colour = valency.
  const molecules = syntheticMolecules({ numSets: Math.max(samples, counted), seed: 0 });
  const centred = molecules.sets.slice(0, samples).map((set) => {
    const centre = [0, 1].map((c) => {
      let sum = 0;
      for (let i = 0; i < set.n; i++) sum += set.values[3 * i + c];
      return sum / set.n;
    });
    return Array.from({ length: set.n }, (_, i) => [
      set.values[3 * i] - centre[0],
      set.values[3 * i + 1] - centre[1],
    ]);
  });
  const bonds = molecules.sets.slice(0, samples).map((set) => {
    const pairs: [number, number][] = [];
    const at = (i: number, c: number) => set.values[3 * i + c];
    for (let i = 0; i < set.n; i++) {
      for (let j = i + 1; j < set.n; j++) {
        if (Math.hypot(at(i, 0) - at(j, 0), at(i, 1) - at(j, 1), at(i, 2) - at(j, 2)) < 2) pairs.push([i, j]);
      }
    }
    return pairs;
  });
  await save(
    'synthetic-molecules',
    pointSetGrid(centred, {
      ...grid,
      bounds: [
        [-7, 7],
        [-7, 7],
      ],
      pointSize: 20,
      segments: bonds,
      categories: molecules.valencies.slice(0, samples),
      categoryDomain: [1, 2, 3, 4],
      colorTitle: 'valency',
      captions: centred.map((s) => `N = ${s.length}`),
      title: 'Synthetic molecules (x–y projection, bonds < 2)',
    }),
  );
  await save(
    'synthetic-molecules-valencies',
    histogram(
      [
        {
          name: 'atoms',
          values: molecules.valencies.slice(0, counted).flatMap((v) => Array.from(v)),
        },
      ],
      {
        xTitle: 'valency',
        normalize: true,
        title: `Valencies of the atoms of ${counted} synthetic molecules`,
      },
    ),
  );

  // Polygons: the rotated squares, then random corner counts (colour = corner count).
  for (const [name, data, title] of [
    ['polygons-square', polygons({ numSets: samples, seed: 0 }), 'Polygons: rotated squares'],
    [
      'polygons-random-size',
      polygons({ numSets: samples, seed: 0, cornerRange: [3, 8] }),
      'Polygons: 3 to 8 corners',
    ],
  ] as const) {
    await save(
      name,
      pointSetGrid(data.sets, {
        ...grid,
        bounds: [
          [-1.2, 1.2],
          [-1.2, 1.2],
        ],
        pointSize: 28,
        groups: data.sets.map((_, k) => data.corners[k]),
        colorTitle: 'corners',
        captions: data.sets.map((s) => `M = ${s.n}`),
        title,
      }),
    );
  }
  return written;
}
