// A smoke run of the whole example (train a few steps, evaluate, draw, save) in a temp dir.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markCounts, svgTexts } from '@setgen/example-plot';
import { SetVAE } from '@setgen/models/node';
import { expect, it } from 'vitest';
import { runSetVaeMnist } from './setvae-mnist.js';

it('trains, evaluates, writes five figures (SVG, PNG, spec) and a checkpoint that loads', async () => {
  const out = await mkdtemp(join(tmpdir(), 'setvae-mnist-'));
  try {
    const summary = await runSetVaeMnist([
      '--steps',
      '3',
      '--train-size',
      '48',
      '--eval-size',
      '4',
      '--out',
      out,
    ]);
    expect(summary?.steps).toBe(3);
    expect(Object.keys(summary?.metrics ?? {}).sort()).toEqual(
      ['1-NNA-CD', '1-NNA-EMD', 'COV-CD', 'COV-EMD', 'MMD-CD', 'MMD-EMD'].sort(),
    );
    for (const value of Object.values(summary?.metrics ?? {})) expect(Number.isFinite(value)).toBe(true);
    const figures = ['attention', 'cardinality', 'loss', 'reconstructions', 'samples'];
    expect((await readdir(out)).sort()).toEqual(
      ['checkpoint', ...figures.flatMap((f) => [`${f}.png`, `${f}.svg`, `${f}.vl.json`])].sort(),
    );
    // 4 eval digits → 4 samples of 100 points; the loss figure: a point per step, its axis titles.
    const samples = await readFile(join(out, 'samples.svg'), 'utf8');
    expect(markCounts(samples).symbol).toBe(4 * 100);
    const loss = await readFile(join(out, 'loss.svg'), 'utf8');
    expect(markCounts(loss).symbol).toBe(2 * 3);
    expect(svgTexts(loss)).toEqual(
      expect.arrayContaining(['Chamfer distance (log scale)', 'KL (nats) (log scale)', 'step']),
    );
    expect((await readFile(join(out, 'samples.png'))).length).toBeGreaterThan(1000);
    const model = await SetVAE.load(join(out, 'checkpoint'));
    expect(model.step).toBe(3);
    model.dispose();
    expect(await runSetVaeMnist(['--help'])).toBeNull();
    await expect(runSetVaeMnist(['--steps', '2', '--epochs', '1'])).rejects.toThrow(/not both/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
