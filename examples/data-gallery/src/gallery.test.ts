import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decodePng } from '@setgen/example-plot';
import { expect, it } from 'vitest';
import { renderGallery } from './gallery.js';

it('renders one PNG grid per dataset, each panel with ink', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gallery-'));
  try {
    const files = await renderGallery(dir, { samples: 4, panelSize: 40, columns: 2 });
    expect(files.map((f) => basename(f))).toEqual([
      'set-mnist.png',
      'set-multi-mnist.png',
      'synthetic-molecules.png',
      'polygons-square.png',
      'polygons-random-size.png',
    ]);
    for (const file of files) {
      const png = decodePng(await readFile(file));
      expect([png.width, png.height]).toEqual([4 + 2 * 44, 4 + 2 * 44]);
      for (let k = 0; k < 4; k++) {
        const [x0, y0] = [4 + (k % 2) * 44, 4 + Math.floor(k / 2) * 44];
        let ink = 0;
        // inside the frame: anything neither white nor the grey frame colour
        for (let y = y0 + 1; y < y0 + 39; y++) {
          for (let x = x0 + 1; x < x0 + 39; x++) {
            const [r, g, b] = png.getPixel(x, y);
            if (!(r === 255 && g === 255 && b === 255)) ink++;
          }
        }
        expect(ink, `${basename(file)} panel ${k}`).toBeGreaterThan(3);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
