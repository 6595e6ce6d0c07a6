import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { markCounts, svgTexts } from '@setgen/example-plot';
import { expect, it } from 'vitest';
import { renderGallery } from './gallery.js';

it('renders a point-set grid per dataset and histograms, each as SVG, PNG and spec', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gallery-'));
  try {
    const files = await renderGallery(dir, { samples: 4, histogramSamples: 20, panelSize: 40, columns: 2 });
    const names = [
      'set-mnist',
      'set-mnist-sizes',
      'set-multi-mnist',
      'synthetic-molecules',
      'synthetic-molecules-valencies',
      'polygons-square',
      'polygons-random-size',
    ];
    expect(files.map((f) => basename(f))).toEqual(names.map((n) => `${n}.png`));
    expect((await readdir(dir)).sort()).toEqual(
      names.flatMap((n) => [`${n}.png`, `${n}.svg`, `${n}.vl.json`]).sort(),
    );
    const svg = async (name: string) => readFile(join(dir, `${name}.svg`), 'utf8');
    // Four panels (frames) of points each; the squares have 4 corners each.
    for (const name of ['set-mnist', 'set-multi-mnist', 'synthetic-molecules', 'polygons-square']) {
      const marks = markCounts(await svg(name));
      expect(marks.symbol, name).toBeGreaterThan(4 * 3);
      expect(marks.rect, name).toBe(name === 'set-multi-mnist' ? 4 + 2 * 4 : 4); // frames (+ two boxes each)
    }
    expect(markCounts(await svg('polygons-square')).symbol).toBe(4 * 4);
    expect(markCounts(await svg('synthetic-molecules')).rule).toBeGreaterThan(0); // bonds
    expect(svgTexts(await svg('synthetic-molecules-valencies'))).toEqual(
      expect.arrayContaining(['valency', 'fraction']),
    );
    expect(svgTexts(await svg('set-mnist-sizes'))).toContain('points per digit (set size)');
    expect(svgTexts(await svg('set-mnist'))).toContain('digit');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
