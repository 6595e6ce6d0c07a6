// A smoke run of the whole example (train a few steps, evaluate, draw, save) in a temp dir.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setMnist } from '@setgen/data';
import { pickBackend } from '@setgen/example-kit';
import { markCounts, svgTexts } from '@setgen/example-plot';
import { SetVAE } from '@setgen/models/node';
import { chamferDistanceHost } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { evaluationReference, reconstructLike, sampleLike } from './evaluate.js';
import { mnistImages } from './mnist-images.js';
import { runSetVaeMnist, SAMPLING_TEMPERATURE } from './setvae-mnist.js';

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
    // the shipped digit classifier scores the samples and as many test digits
    expect(summary?.score?.test.histogram.reduce((a, b) => a + b, 0)).toBe(4);
    expect(summary?.score?.samples.histogram.reduce((a, b) => a + b, 0)).toBe(4);
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
    // --load DIR samples, evaluates and draws a saved model without training
    const loaded = await runSetVaeMnist([
      '--load',
      join(out, 'checkpoint'),
      '--eval-size',
      '4',
      '--out',
      join(out, 'loaded'),
    ]);
    expect(loaded?.steps).toBe(3);
    expect(loaded?.history).toEqual([]);
    expect(loaded?.samples).toHaveLength(4);
    expect((await readdir(join(out, 'loaded'))).filter((f) => f.endsWith('.png')).sort()).toEqual([
      'attention.png',
      'cardinality.png',
      'reconstructions.png',
      'samples.png',
    ]);
    await expect(runSetVaeMnist(['--load', join(out, 'nothing-here'), '--out', out])).rejects.toThrow(
      /--load: no saved SetVAE/,
    );
    await expect(runSetVaeMnist(['--load', out, '--pretrained'])).rejects.toThrow(/not both/);
    expect(await runSetVaeMnist(['--help'])).toBeNull();
    await expect(runSetVaeMnist(['--steps', '2', '--epochs', '1'])).rejects.toThrow(/not both/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 300_000); // the whole example twice (≈ 85 s on an idle 2-core CI machine): room for a loaded one

it('--checkpoint-every saves snapshots and history; --resume continues where the run stopped', async () => {
  const out = await mkdtemp(join(tmpdir(), 'setvae-mnist-resume-'));
  const args = ['--train-size', '16', '--batch-size', '8', '--eval-size', '0', '--no-figures', '--out', out];
  try {
    // 2 steps per epoch; a snapshot after every step (the interval is shorter than a step)
    await runSetVaeMnist(['--steps', '2', '--checkpoint-every', '1e-6', ...args]);
    expect((await readdir(join(out, 'snapshots'))).sort()).toEqual(['step-0000001', 'step-0000002']);
    // a longer run from out/checkpoint: two more steps, not four
    const resumed = await runSetVaeMnist(['--steps', '4', '--checkpoint-every', '1e-6', '--resume', ...args]);
    expect(resumed?.steps).toBe(4);
    expect((await readdir(join(out, 'snapshots'))).sort().at(-1)).toBe('step-0000004');
    const model = await SetVAE.load(join(out, 'checkpoint'));
    expect(model.step).toBe(4);
    model.dispose();
    const lines = (await readFile(join(out, 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).step)).toEqual([1, 2, 3, 4]);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

it('--pretrained samples and evaluates the shipped model without training', async () => {
  const out = await mkdtemp(join(tmpdir(), 'setvae-mnist-pretrained-'));
  try {
    const summary = await runSetVaeMnist(['--pretrained', '--eval-size', '4', '--no-figures', '--out', out]);
    expect(summary?.steps).toBeGreaterThan(1000);
    expect(summary?.losses).toEqual({});
    expect(summary?.score?.samples.histogram.reduce((a, b) => a + b, 0)).toBe(4);
    // the example samples at temperature 2 unless told otherwise; --temperature is honoured
    // (same seeds, so only the prior's scale differs)
    expect(summary?.temperature).toBe(SAMPLING_TEMPERATURE);
    expect(SAMPLING_TEMPERATURE).toBe(2);
    const model = await SetVAE.load(
      join(fileURLToPath(new URL('..', import.meta.url)), 'pretrained', 'set-mnist'),
    );
    const expected = (temperature: number) =>
      sampleLike(model, summary?.samples ?? [], { seed: 1000, temperature }).map((s) => Array.from(s.values));
    expect(summary?.samples.map((s) => Array.from(s.values))).toEqual(expected(2));
    const cold = await runSetVaeMnist([
      '--pretrained',
      '--eval-size',
      '4',
      '--no-figures',
      '--temperature',
      '1',
      '--out',
      out,
    ]);
    expect(cold?.temperature).toBe(1);
    expect(cold?.samples.map((s) => Array.from(s.values))).toEqual(expected(1));
    expect(cold?.samples.map((s) => Array.from(s.values))).not.toEqual(expected(2));
    model.dispose();
    await expect(
      runSetVaeMnist(['--pretrained', '--dataset', 'setMultiMnist', '--eval-size', '0', '--out', out]),
    ).rejects.toThrow(/--pretrained: no pretrained setMultiMnist model/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

it('a tiny config learns: the median Chamfer of the last 5 of 30 steps is below 0.6× the first 5', async () => {
  const out = await mkdtemp(join(tmpdir(), 'setvae-mnist-learns-'));
  try {
    const tiny = ['--steps', '30', '--train-size', '8', '--batch-size', '4', '--points', '30'];
    const summary = await runSetVaeMnist([...tiny, '--eval-size', '0', '--no-figures', '--out', out]);
    const recon = (summary?.history ?? []).map((losses) => losses.recon);
    expect(recon).toHaveLength(30);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    expect(median(recon.slice(-5))).toBeLessThan(0.6 * median(recon.slice(0, 5)));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

it('reconstructLike: the shipped model reconstructs each digit closer to itself than its prior samples come, in order, any chunk', async () => {
  await pickBackend();
  const model = await SetVAE.load(
    join(fileURLToPath(new URL('..', import.meta.url)), 'pretrained', 'set-mnist'),
  );
  try {
    const test = setMnist({ split: 'test', seed: 2, images: mnistImages() }).sets;
    // 6 digits at 100 points and 2 at their own sizes: the output keeps each set's size
    const digits = [...evaluationReference(test, 6), ...test.slice(6, 8)];
    const tensors = tf.memory().numTensors;
    const reconstructed = reconstructLike(model, digits, { seed: 3, chunk: 3 });
    const sampled = sampleLike(model, digits, { seed: 3, chunk: 3 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(reconstructed.map((s) => s.n)).toEqual(digits.map((s) => s.n));
    const toOwn = (sets: typeof digits) =>
      sets.reduce((sum, s, i) => sum + chamferDistanceHost(s, digits[i]), 0) / sets.length;
    // a reconstruction is near its own digit (the posterior knows it); a prior sample is not
    expect(toOwn(reconstructed)).toBeLessThan(0.5 * toOwn(sampled));
  } finally {
    model.dispose();
  }
});
