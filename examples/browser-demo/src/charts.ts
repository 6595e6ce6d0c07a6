// The demo's pictures: specs from @setgen/example-plot (the same figures as the Node example)
// rendered by Vega into canvases; the loss curve is one live view fed new rows.
import {
  type AttentionLevel,
  attentionGrid,
  type Bounds,
  CURVES_DATA,
  type CurveSeries,
  curveRows,
  pointSetGrid,
  toVega,
  trainingCurves,
} from '@setgen/example-plot';
import { parse, View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

/** Set-MNIST's unit square with image rows downwards. */
const BOUNDS: Bounds = [
  [0, 1],
  [0, 1],
];

/** Replaces whatever `container` shows by a canvas view of `spec`. */
export async function show(container: HTMLElement, spec: TopLevelSpec, previous?: View): Promise<View> {
  previous?.finalize();
  container.replaceChildren();
  const view = new View(parse(toVega(spec)), { renderer: 'canvas', container, hover: false });
  await view.runAsync();
  return view;
}

export const samplesSpec = (sets: number[][][], cardinality: number, temperature: number) =>
  pointSetGrid(sets, {
    title: `Samples: ${cardinality} points each, temperature ${temperature}`,
    bounds: BOUNDS,
    yDown: true,
    columns: sets.length,
    panelSize: 150,
  });

export const reconstructionSpec = (input: number[][], output: number[][], label: number) =>
  pointSetGrid([input, output], {
    title: `Test digit (a ${label}) and its reconstruction`,
    bounds: BOUNDS,
    yDown: true,
    columns: 2,
    panelSize: 150,
    groups: ['input', 'reconstruction'],
    captions: ['input', 'reconstruction'],
    legendOrient: 'bottom',
  });

export const attentionSpec = (input: number[][], levels: AttentionLevel[]) =>
  attentionGrid([input], levels, {
    title: 'Encoder attention: each point coloured by the inducing point that attends to it most',
    bounds: BOUNDS,
    yDown: true,
    panelSize: 120,
    slotName: 'inducing point',
  });

/** A training-curve view whose rows are replaced as the steps come in. */
export class LiveCurve {
  private view: View | null = null;
  private series: CurveSeries[];
  private readonly options = { title: 'Training loss', yTitle: 'loss', logY: true, width: 340, height: 180 };

  constructor(
    private readonly container: HTMLElement,
    names: string[],
  ) {
    this.series = names.map((name) => ({ name, values: [] as number[], steps: [] as number[] }));
  }

  push(step: number, values: Record<string, number>): void {
    for (const s of this.series) {
      (s.values as number[]).push(values[s.name]);
      (s.steps as number[]).push(step);
    }
  }

  /** Draws the curve (the first call builds the view, later ones only swap its data). */
  async draw(): Promise<void> {
    if (this.series[0].values.length === 0) return;
    if (!this.view) {
      this.view = await show(this.container, trainingCurves(this.series, this.options));
      return;
    }
    await this.view.data(CURVES_DATA, curveRows(this.series, this.options)).runAsync();
  }

  clear(): void {
    for (const s of this.series) {
      s.values = [];
      s.steps = [];
    }
    this.view?.finalize();
    this.view = null;
    this.container.replaceChildren();
  }
}
