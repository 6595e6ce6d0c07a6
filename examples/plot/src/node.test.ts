import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { markCounts, svgTexts } from './inspect.js';
import { saveFigure, svgToPng } from './node.js';
import { pointSetGrid } from './point-sets.js';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): [number, number] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

describe('saveFigure', () => {
  it('writes name.svg, name.png (2× the SVG) and name.vl.json side by side', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plot-'));
    try {
      const spec = pointSetGrid(
        [
          [
            [0.2, 0.2],
            [0.8, 0.7],
          ],
        ],
        { captions: ['a pair'], panelSize: 80 },
      );
      const files = await saveFigure(join(dir, 'sub', 'pair.png'), spec);
      expect(files).toEqual({
        svg: join(dir, 'sub', 'pair.svg'),
        png: join(dir, 'sub', 'pair.png'),
        spec: join(dir, 'sub', 'pair.vl.json'),
      });
      expect(JSON.parse(await readFile(files.spec, 'utf8'))).toEqual(JSON.parse(JSON.stringify(spec)));
      const svg = await readFile(files.svg, 'utf8');
      expect(markCounts(svg).symbol).toBe(2);
      expect(svgTexts(svg)).toContain('a pair');
      const png = await readFile(files.png);
      expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      const [svgWidth, svgHeight] = [/width="(\d+)"/, /height="(\d+)"/].map((r) => Number(svg.match(r)![1]));
      expect(pngSize(png)).toEqual([2 * svgWidth, 2 * svgHeight]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rasterises the points: dark pixels where they are, white elsewhere', async () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="white"/>' +
      '<rect width="5" height="5" fill="black"/></svg>';
    const png = svgToPng(svg, { scale: 1 });
    expect(pngSize(png)).toEqual([10, 10]);
    // Decode through resvg itself (it reads PNG images) and look at two pixels.
    const back = new Resvg(
      `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image width="10" height="10" href="data:image/png;base64,${Buffer.from(png).toString('base64')}"/></svg>`,
    ).render().pixels;
    const at = (x: number, y: number) => Array.from(back.subarray(4 * (10 * y + x), 4 * (10 * y + x) + 3));
    expect(at(2, 2)).toEqual([0, 0, 0]);
    expect(at(7, 7)).toEqual([255, 255, 255]);
  });
});
