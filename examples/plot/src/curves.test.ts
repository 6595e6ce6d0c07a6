import { describe, expect, it } from 'vitest';
import { sideBySide } from './compose.js';
import { curveRows, metricCurves, trainingCurves } from './curves.js';
import { formatValue } from './format.js';
import { markCounts, svgTexts } from './inspect.js';
import { renderSvg } from './render.js';
import { emaSmooth } from './smoothing.js';

const falling = Array.from({ length: 60 }, (_, i) => 1 / (1 + i / 10) + 0.01 * Math.sin(i));

describe('trainingCurves', () => {
  it('draws every raw value as a point, one smoothed line per series, titles and final values', async () => {
    const kl = falling.map((v) => 50 * v);
    const spec = trainingCurves(
      [
        { name: 'train', values: falling },
        { name: 'test', values: kl.slice(0, 40) },
      ],
      { yTitle: 'Chamfer', logY: true, smoothing: 0.8 },
    );
    const svg = await renderSvg(spec);
    expect(markCounts(svg)).toMatchObject({ symbol: 100, line: 2 });
    const texts = svgTexts(svg);
    expect(texts).toContain('step');
    expect(texts).toContain('Chamfer (log scale)');
    const final = emaSmooth(falling, 0.8).at(-1)!;
    expect(texts).toContain(`train · final ${formatValue(final)}`);
    const testLabel = `test · final ${formatValue(emaSmooth(kl.slice(0, 40), 0.8).at(-1)!)}`;
    expect(texts).toContain(testLabel);
    // legend in the order given, not alphabetical
    expect(texts.indexOf(`train · final ${formatValue(final)}`)).toBeLessThan(texts.indexOf(testLabel));
  });

  it('leaves out non-finite values, and values ≤ 0 on a log scale', async () => {
    const values = [1, 0, -2, Number.NaN, 0.5, Number.POSITIVE_INFINITY, 0.25];
    expect(curveRows([{ name: 'l', values }], { logY: true }).map((r) => r.step)).toEqual([1, 5, 7]);
    expect(curveRows([{ name: 'l', values }]).map((r) => r.step)).toEqual([1, 2, 3, 5, 7]);
    const svg = await renderSvg(trainingCurves([{ name: 'l', values }], { logY: true }));
    expect(markCounts(svg).symbol).toBe(3);
  });

  it('uses the given steps and checks their length', () => {
    const rows = curveRows([{ name: 'm', values: [3, 2], steps: [100, 200] }], { smoothing: 0 });
    expect(rows).toEqual([
      { label: 'm · final 2', series: 0, step: 100, value: 3, smooth: 3 },
      { label: 'm · final 2', series: 0, step: 200, value: 2, smooth: 2 },
    ]);
    expect(() => curveRows([{ name: 'm', values: [1, 2], steps: [1] }])).toThrow(/'m': 1 steps for 2 values/);
    expect(() => trainingCurves([])).toThrow(/at least one series/);
  });
});

describe('metricCurves', () => {
  it('draws a line through the measured points, the raw final value in the legend', async () => {
    const spec = metricCurves(
      [
        { name: 'COV-CD', values: [10, 20, 25], steps: [1000, 2000, 4000] },
        { name: 'COV-EMD', values: [12, 22, 27], steps: [1000, 2000, 4000] },
      ],
      { yTitle: 'coverage (%)', yDomain: [0, 100] },
    );
    const svg = await renderSvg(spec);
    expect(markCounts(svg)).toMatchObject({ line: 2, symbol: 6 });
    expect(svgTexts(svg)).toEqual(
      expect.arrayContaining(['coverage (%)', 'step', 'COV-CD · final 25', 'COV-EMD · final 27', '100']),
    );
  });

  it('composes side by side, each panel with its own legend', async () => {
    const spec = sideBySide([
      trainingCurves([{ name: 'Chamfer', values: falling }]),
      trainingCurves([{ name: 'KL', values: falling.map((v) => 2 * v) }]),
    ]);
    const svg = await renderSvg(spec);
    expect(markCounts(svg)).toMatchObject({ symbol: 120, line: 2 });
    const texts = svgTexts(svg);
    expect(texts.filter((t) => t.startsWith('Chamfer · final')).length).toBe(1);
    expect(texts.filter((t) => t.startsWith('KL · final')).length).toBe(1);
  });
});

describe('live updates', () => {
  it('replacing the named curves dataset redraws the chart (what the browser demo does)', async () => {
    const { parse, View } = await import('vega');
    const { toVega } = await import('./render.js');
    const { CURVES_DATA } = await import('./curves.js');
    const series = [{ name: 'loss', values: falling.slice(0, 10) }];
    const view = new View(parse(toVega(trainingCurves(series))), { renderer: 'none' });
    try {
      await view.runAsync();
      expect(markCounts(await view.toSVG()).symbol).toBe(10);
      const more = [{ name: 'loss', values: falling.slice(0, 25) }];
      await view.data(CURVES_DATA, curveRows(more)).runAsync();
      const svg = await view.toSVG();
      expect(markCounts(svg).symbol).toBe(25);
      expect(svgTexts(svg)).toContain(`loss · final ${formatValue(falling[24])}`);
    } finally {
      view.finalize();
    }
  });
});
