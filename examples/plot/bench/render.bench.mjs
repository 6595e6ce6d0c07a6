#!/usr/bin/env node
// Render time of the quickstart's figures at their real sizes (against the built dist): building
// the spec, Vega → SVG, resvg → PNG at 2× (each after one warm-up run).
//   pnpm --filter @setgen/example-plot build && node examples/plot/bench/render.bench.mjs [--only plot_svg]
import { bench } from '../../../scripts/bench-harness.mjs';
import { attentionGrid, pointSetGrid, renderSvg, sideBySide, trainingCurves } from '../dist/index.js';
import { svgToPng } from '../dist/node.js';

const RUNS = Number(process.env.RUNS ?? 5);
let seed = 1;
const rand = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
};
const cloud = (n) => Array.from({ length: n }, () => [rand(), rand()]);
const steps = 4000;
const loss = (scale) =>
  Array.from({ length: steps }, (_, i) => scale * (0.2 + 0.6 / (1 + i / 300)) * (0.85 + 0.3 * rand()));
const unit = [
  [0, 1],
  [0, 1],
];

// The quickstart's five figures at their real sizes.
const figures = {
  loss_4000_steps: () =>
    sideBySide([
      trainingCurves([{ name: 'Chamfer', values: loss(1) }], { logY: true }),
      trainingCurves([{ name: 'KL', values: loss(100) }], { logY: true }),
    ]),
  samples_32x100: () =>
    pointSetGrid(
      Array.from({ length: 32 }, () => cloud(100)),
      { bounds: unit, columns: 8 },
    ),
  reconstructions_16x150: () =>
    pointSetGrid(
      Array.from({ length: 16 }, () => cloud(150)),
      {
        bounds: unit,
        columns: 8,
        groups: Array.from({ length: 16 }, (_, k) => (k < 8 ? 'input' : 'reconstruction')),
      },
    ),
  cardinality_10800_points: () =>
    pointSetGrid(Array.from({ length: 4 }, () => [50, 150, 500, 2000].map(cloud)).flat(), {
      bounds: unit,
      columns: 4,
      panelSize: 128,
    }),
  attention_6x5_levels: () => {
    const sets = Array.from({ length: 6 }, () => cloud(150));
    return attentionGrid(
      sets,
      [2, 4, 8, 16, 32].map((m) => ({
        title: `m = ${m}`,
        count: m,
        owner: sets.map((s) => s.map(() => Math.floor(rand() * m))),
      })),
      { bounds: unit },
    );
  },
};

for (const [name, build] of Object.entries(figures)) {
  const extra = { figure: name };
  await bench(`plot_spec_${name}`, build, { runs: RUNS, backend: 'host', extra });
  await bench(`plot_svg_${name}`, (spec) => renderSvg(spec), {
    runs: RUNS,
    setup: build,
    backend: 'host',
    extra,
  });
  await bench(`plot_png_${name}`, (svg) => svgToPng(svg), {
    runs: RUNS,
    setup: () => renderSvg(build()),
    backend: 'host',
    extra,
  });
}
