import { describe, expect, it } from 'vitest';
import { histogram } from './histogram.js';
import { markCounts, svgTexts } from './inspect.js';
import { renderSvg } from './render.js';

describe('histogram', () => {
  it('draws one bar per integer value when discrete, with its titles', async () => {
    const svg = await renderSvg(histogram([1, 1, 2, 4, 4, 4], { xTitle: 'valency' }));
    expect(markCounts(svg).rect).toBe(3);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['valency', 'count', '1', '2', '4']));
  });

  it('bar heights are the counts (fractions when normalised)', async () => {
    // Bars are <path d="Mx,yhWvHh-WZ">: H is the height in pixels.
    const heights = (svg: string) =>
      [...svg.matchAll(/<path d="M[-\d.]+,[-\d.]+h[\d.]+v([\d.]+)h/g)].map((m) => Number(m[1]));
    const counts = heights(await renderSvg(histogram([1, 1, 2, 4, 4, 4], { height: 300 })));
    expect(counts.map((h) => h / counts[1])).toEqual([2, 1, 3].map((v) => expect.closeTo(v, 9)));
    const svg = await renderSvg(
      histogram(
        [
          { name: 'a', values: [1, 1, 2, 2] },
          { name: 'b', values: [1, 2, 2, 2, 2, 2, 2, 2] },
        ],
        { normalize: true, height: 200 },
      ),
    );
    // group a's bars, then b's: a 1/2, 1/2; b 1/8, 7/8, on one axis.
    const [a1, a2, b1, b2] = heights(svg);
    expect(a1 / a2).toBeCloseTo(1, 6);
    expect(b2 / b1).toBeCloseTo(7, 6);
    expect(a1 / b1).toBeCloseTo(4, 6);
  });

  it('groups bars per sample, as fractions when normalised', async () => {
    const svg = await renderSvg(
      histogram(
        [
          { name: 'data', values: [1, 2, 2, 3] },
          { name: 'model', values: [2, 3, 3, 3, 4] },
        ],
        { xTitle: 'valency', normalize: true },
      ),
    );
    expect(markCounts(svg).rect).toBe(3 + 3);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['fraction', 'data', 'model']));
  });

  it('bins continuous values (about maxBins bars, nice edges), ignoring non-finite ones', async () => {
    const values = Array.from({ length: 300 }, (_, i) => Math.sin(i) * 10 + 0.5);
    const svg = await renderSvg(histogram([...values, Number.NaN], { xTitle: 'set size', maxBins: 10 }));
    const bars = markCounts(svg).rect;
    expect(bars).toBeGreaterThan(4);
    expect(bars).toBeLessThanOrEqual(12);
    expect(svgTexts(svg)).toContain('set size');
  });
});
