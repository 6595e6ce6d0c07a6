// A smoke run of the whole example (train a few steps, evaluate, draw, save) in a temp dir.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '@setgen/example-plot';
import { SetVAE } from '@setgen/models/node';
import { expect, it } from 'vitest';
import { runSetVaeMnist } from './setvae-mnist.js';

it('trains, evaluates, writes five PNGs and a checkpoint that loads', async () => {
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
    expect((await readdir(out)).sort()).toEqual(
      [
        'attention.png',
        'cardinality.png',
        'checkpoint',
        'loss.png',
        'reconstructions.png',
        'samples.png',
      ].sort(),
    );
    const samples = decodePng(await readFile(join(out, 'samples.png')));
    expect(samples.width).toBeGreaterThan(100);
    const model = await SetVAE.load(join(out, 'checkpoint'));
    expect(model.step).toBe(3);
    model.dispose();
    expect(await runSetVaeMnist(['--help'])).toBeNull();
    await expect(runSetVaeMnist(['--steps', '2', '--epochs', '1'])).rejects.toThrow(/not both/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
