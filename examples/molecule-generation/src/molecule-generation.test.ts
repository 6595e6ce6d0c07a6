// A smoke run of the whole example (train two creations briefly, score, tabulate, draw).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markCounts } from '@setgen/example-plot';
import { OneShotSetVAE } from '@setgen/models/node';
import { Random } from '@setgen/ops';
import { expect, it } from 'vitest';
import { moleculeData, sizeSortedBatches } from './experiment.js';
import { runMoleculeGeneration } from './molecule-generation.js';
import { meanCI } from './report.js';

it('batches sets of similar sizes, each set once per epoch', () => {
  const data = moleculeData({ trainSets: 50, testSets: 5 });
  const chunks = sizeSortedBatches(data.train, 8, new Random(1));
  expect(chunks.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  const spread = chunks.map(
    (c) => Math.max(...c.map((i) => data.train[i].n)) - Math.min(...c.map((i) => data.train[i].n)),
  );
  expect(Math.max(...spread)).toBeLessThan(Math.max(...data.train.map((s) => s.n)) - 2);
  expect(data.valencyHistogram[0]).toBe(0); // every data atom is bonded
  expect(data.valencyHistogram.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
});

it('95 % intervals by Student t', () => {
  const [m, ci] = meanCI([1, 2, 3]);
  expect(m).toBe(2);
  expect(ci).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 6);
});

it('trains, scores, tabulates beside the paper, draws, and leaves checkpoints that load', async () => {
  const out = await mkdtemp(join(tmpdir(), 'molecules-'));
  try {
    await runMoleculeGeneration([
      'all',
      '--scale',
      'smoke',
      '--creations',
      'topn,iid',
      '--seeds',
      '1',
      '--out',
      out,
      '--pairs',
      '10',
    ]);
    const text = await readFile(join(out, 'table.md'), 'utf8');
    for (const row of ['**Top-n** (ours)', 'Top-n (paper)', '**i.i.d.** (ours)', 'i.i.d. (paper)'])
      expect(text).toContain(row);
    expect(text).toContain('0.37 ± 0.12'); // the paper's Top-n generation valency W
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toHaveLength(2);
    for (const r of metrics) {
      for (const v of [
        r.trainW,
        r.testW,
        r.generation.valencyW1,
        r.generation.diversity,
        r.extrapolation.meanSize,
      ]) {
        expect(Number.isFinite(v)).toBe(true);
      }
      expect(r.extrapolation.meanSize).toBeGreaterThan(r.generation.meanSize);
    }
    const sets = await readFile(join(out, 'figures', 'sets.svg'), 'utf8');
    expect(markCounts(sets).symbol).toBeGreaterThan(10);
    for (const f of ['sets', 'histograms', 'training'])
      expect(existsSync(join(out, 'figures', `${f}.png`))).toBe(true);
    const model = await OneShotSetVAE.load(join(out, 'topn-1', 'checkpoint'));
    expect(model.epoch).toBe(2);
    model.dispose();
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 300_000);

it('Table 6 ablation: Top-n per reference size on sets of at most 11 atoms, beside the paper', async () => {
  const out = await mkdtemp(join(tmpdir(), 'molecules-ablation-'));
  try {
    await runMoleculeGeneration([
      'ablation',
      '--scale',
      'smoke',
      '--seeds',
      '1',
      '--reference-sizes',
      '11,13',
      '--out',
      out,
      '--pairs',
      '5',
    ]);
    const text = await readFile(join(out, 'table6.md'), 'utf8');
    expect(text).toMatch(/^\| 11 \| 1 \| .* \| 0\.75 ± 0\.04 \| 2\.8 ± 0\.7 \|$/m);
    expect(text).toMatch(/^\| 13 \| 1 \| /m);
    const model = await OneShotSetVAE.load(join(out, 'n0-13-1', 'checkpoint'));
    expect(model.config.referenceSize).toBe(13);
    expect(model.config.maxSize).toBe(11);
    model.dispose();
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.map((r: { referenceSize: number }) => r.referenceSize)).toEqual([11, 13]);
    for (const r of metrics) expect(r.extrapolation.meanSize).toBeLessThanOrEqual(r.referenceSize);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 300_000);
