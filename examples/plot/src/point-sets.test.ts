import { describe, expect, it } from 'vitest';
import { attentionGrid } from './attention.js';
import { markCounts, svgTexts } from './inspect.js';
import { pointSetGrid } from './point-sets.js';
import { renderSvg } from './render.js';

const unit = [
  [0, 1],
  [0, 1],
] as const;

describe('pointSetGrid', () => {
  it('draws every finite point of every set, a caption per panel, empty sets keep their panel', async () => {
    const sets = [
      { values: new Float32Array([0.1, 0.1, 0.9, 0.9, Number.NaN, 0.5]), n: 3, d: 2 },
      [
        [0.5, 0.5],
        [0.2, 0.8],
        [0.3, 0.3],
      ],
      [],
    ];
    const spec = pointSetGrid(sets, { bounds: unit, captions: ['first', 'second', 'empty'], columns: 3 });
    const svg = await renderSvg(spec);
    expect(markCounts(svg)).toMatchObject({ symbol: 2 + 3, rect: 3 }); // 3 frames
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['first', 'second', 'empty']));
  });

  it('keeps equal aspect: panel height follows the data range', () => {
    const spec = pointSetGrid([[[0, 0]]], {
      bounds: [
        [0, 2],
        [0, 1],
      ],
      panelSize: 100,
    }) as { spec: { width: number; height: number } };
    expect([spec.spec.width, spec.spec.height]).toEqual([100, 50]);
  });

  it('colours by category with a legend, and draws segments and boxes', async () => {
    const set = [
      [0.1, 0.1],
      [0.2, 0.2],
      [0.8, 0.8],
    ];
    const spec = pointSetGrid([set, set], {
      bounds: unit,
      categories: [
        [0, 0, 1],
        [1, 1, 1],
      ],
      colorTitle: 'class',
      segments: [
        [[0, 1]],
        [
          [0, 1],
          [1, 2],
        ],
      ],
      boxes: [[{ x0: 0, y0: 0, x1: 0.3, y1: 0.3, category: 0 }], []],
    });
    const svg = await renderSvg(spec);
    expect(markCounts(svg)).toMatchObject({ symbol: 6, rule: 3, rect: 2 + 1 }); // 2 frames, 1 box
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['class', '0', '1']));
  });

  it('colours by value with viridis (ends of the range at its ends) and flips y for image rows', async () => {
    const set = [
      [0.2, 0.2],
      [0.8, 0.8],
    ];
    const svg = await renderSvg(
      pointSetGrid([set], { bounds: unit, values: [[3, 7]], colorTitle: 'weight' }),
    );
    const fills = [...svg.matchAll(/<path[^>]*fill="(rgb\([^)]*\))"[^>]*opacity="0.9"/g)].map((m) => m[1]);
    expect(fills).toEqual(['rgb(68, 1, 84)', 'rgb(253, 231, 37)']); // viridis(0) at 3, viridis(1) at 7
    expect(svgTexts(svg)).toContain('weight');
    const y = (spec: object) =>
      (spec as { spec: { layer: { encoding: { y: { scale: { reverse: boolean } } } }[] } }).spec.layer[0]
        .encoding.y.scale.reverse;
    expect(y(pointSetGrid([set], { yDown: true }))).toBe(true);
    expect(y(pointSetGrid([set]))).toBe(false);
  });

  it('names the option and the set when lengths disagree', () => {
    expect(() => pointSetGrid([[[0, 0]]], { captions: ['a', 'b'] })).toThrow(
      /captions has 2 entries for 1 sets/,
    );
    expect(() => pointSetGrid([[[0, 0]]], { values: [[1, 2]] })).toThrow(
      /values\[0\] has 2 entries for 1 points/,
    );
    expect(() => pointSetGrid([])).toThrow(/at least one set/);
  });
});

describe('attentionGrid', () => {
  it('draws each set once per level, with one legend per level listing every slot', async () => {
    const sets = [
      [
        [0.1, 0.2],
        [0.7, 0.4],
        [0.5, 0.9],
      ],
      [
        [0.3, 0.3],
        [0.6, 0.6],
      ],
    ];
    const spec = attentionGrid(
      sets,
      [
        {
          title: 'm = 2',
          count: 2,
          owner: [
            [0, 1, 1],
            [1, 0],
          ],
        },
        {
          title: 'm = 4',
          count: 4,
          owner: [
            [0, 3, 2],
            [1, 1],
          ],
        },
      ],
      { bounds: unit, captions: ['a', 'b'] },
    );
    const svg = await renderSvg(spec);
    expect(markCounts(svg).symbol).toBe(2 * 5);
    const texts = svgTexts(svg);
    expect(texts).toEqual(expect.arrayContaining(['m = 2', 'm = 4', 'a', 'b']));
    expect(texts.filter((t) => t === 'slot').length).toBe(2); // a legend per level
    // slot 3 exists only at m = 4; slots 0 and 1 are listed in both legends.
    expect(texts.filter((t) => t === '3').length).toBe(1);
    expect(texts.filter((t) => t === '1').length).toBe(2);
  });
});
