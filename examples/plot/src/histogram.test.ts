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
