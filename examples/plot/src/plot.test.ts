import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BLACK,
  Canvas,
  decodePng,
  drawCurves,
  drawPoints,
  drawText,
  encodePng,
  panelGrid,
  plotPointSets,
  savePng,
  textWidth,
  toPixel,
  viridis,
  WHITE,
} from './index.js';

const isWhite = (c: readonly number[]) => c[0] === 255 && c[1] === 255 && c[2] === 255;

describe('plot', () => {
  it('savePng writes a PNG that decodes to the grid size with ink where the points are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plot-'));
    try {
      const sets = [
        { values: new Float32Array([0.1, 0.1, 0.9, 0.9]), n: 2, d: 2 },
        [
          [0.5, 0.5],
          [0.2, 0.8],
        ],
        [[0.5, 0.25]],
      ];
      const bounds = [
        [0, 1],
        [0, 1],
      ] as const;
      const canvas = plotPointSets(sets, { columns: 2, panelSize: 50, gap: 2, bounds, radius: 0 });
      const path = join(dir, 'sub', 'sets.png');
      await savePng(path, canvas);
      const decoded = decodePng(await readFile(path));
      expect([decoded.width, decoded.height]).toEqual([2 + 2 * 52, 2 + 2 * 52]);
      const { panels } = panelGrid(3, { columns: 2, panelSize: 50, gap: 2 });
      // y up: (0.9, 0.9) is near the top-right of panel 0; (0.5, 0.25) in the lower half of panel 2.
      for (const [k, x, y] of [
        [0, 0.1, 0.1],
        [0, 0.9, 0.9],
        [1, 0.2, 0.8],
        [2, 0.5, 0.25],
      ] as const) {
        const [px, py] = toPixel(panels[k], bounds, x, y);
        expect(decoded.getPixel(Math.round(px), Math.round(py))).toEqual([0, 0, 0]);
      }
      // An empty spot stays background, and the 4th (missing) panel is blank.
      expect(isWhite(decoded.getPixel(panels[0].x + 25, panels[0].y + 10))).toBe(true);
      let ink = 0;
      for (let y = 56; y < 104; y++)
        for (let x = 56; x < 104; x++) if (!isWhite(decoded.getPixel(x, y))) ink++;
      expect(ink).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('colours points by value (viridis) and draws curves', () => {
    const canvas = new Canvas(40, 20);
    const panel = { x: 0, y: 0, width: 20, height: 20 };
    const bounds = [
      [0, 1],
      [0, 1],
    ] as const;
    drawPoints(
      canvas,
      panel,
      [
        [0, 0],
        [1, 1],
      ],
      { bounds, values: [3, 7], radius: 0 },
    );
    expect(canvas.getPixel(0, 19)).toEqual(viridis(0));
    expect(canvas.getPixel(19, 0)).toEqual(viridis(1));
    drawCurves(canvas, { x: 20, y: 0, width: 20, height: 20 }, [{ values: [1, 1, 1, 1], color: BLACK }]);
    let row = -1;
    for (let y = 0; y < 20; y++) if (!isWhite(canvas.getPixel(30, y))) row = y;
    expect(row).toBeGreaterThan(5); // a constant curve is drawn across the middle
    expect(row).toBeLessThan(15);
  });

  it('clips drawing to the panel', () => {
    const canvas = new Canvas(30, 10);
    const left = { x: 0, y: 0, width: 10, height: 10 };
    drawPoints(canvas, left, [[2, 0.5]], {
      bounds: [
        [0, 1],
        [0, 1],
      ],
      radius: 0,
    }); // far right of the panel
    drawPoints(canvas, left, [[0.5, 0.5]], {
      bounds: [
        [0, 1],
        [0, 1],
      ],
      radius: 20,
    }); // a disc larger than the panel
    for (let y = 0; y < 10; y++)
      for (let x = 10; x < 30; x++) expect(canvas.getPixel(x, y)).toEqual([255, 255, 255]);
    expect(canvas.getPixel(0, 0)).toEqual([0, 0, 0]);
    expect(canvas.clip).toBeNull();
  });

  it('draws text in a 3×5 font', () => {
    const canvas = new Canvas(20, 12);
    drawText(canvas, 1, 1, '1a', { scale: 2 });
    const ink = (x: number, y: number) => canvas.getPixel(x, y)[0] === 0;
    // '1' = 010 110 010 010 111 at scale 2: column 1 of the glyph is inked on every row
    for (let r = 0; r < 5; r++) expect(ink(1 + 2 * 1, 1 + 2 * r)).toBe(true);
    expect(ink(1, 1)).toBe(false); // top-left of '1' is blank
    expect(ink(1, 1 + 2 * 4)).toBe(true); // bottom row of '1' is full
    expect(ink(1 + 2 * 4 + 2, 1)).toBe(true); // 'A' (lower case drawn upper) top middle
    expect(textWidth('1a', 2)).toBe(14);
    expect(textWidth('')).toBe(0);
  });

  it('encodes and decodes losslessly', () => {
    const canvas = new Canvas(3, 2, WHITE);
    canvas.setPixel(1, 1, [10, 20, 30]);
    const back = decodePng(encodePng(canvas));
    expect(Array.from(back.data)).toEqual(Array.from(canvas.data));
    expect(() => new Canvas(0, 5)).toThrow(RangeError);
  });
});
