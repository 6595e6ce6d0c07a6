// The temperature sweep on a tiny untrained SetVAE: every (T, seed) scored, logged and tabled.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickBackend } from '@setgen/example-kit';
import { SetVAE } from '@setgen/models/node';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CLASSIFIER_CONFIG, DigitClassifier, NUM_CLASSES } from './digit-classifier.js';
import { runTemperatureSweep, type SweepPoint, sweepTable } from './temperature-sweep.js';

it('scores every temperature × seed, logs one JSON line each, draws one picture per temperature', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'setvae-sweep-'));
  try {
    await pickBackend();
    // an untrained Set-MNIST SetVAE, two levels, narrow
    const model = new SetVAE({
      ...SetVAE.presets.setMnist,
      hiddenDim: 8,
      inducingPoints: [2, 4],
      maxOutputs: 128,
    });
    await model.save(join(dir, 'model'));
    model.dispose();
    const tensors = tf.memory().numTensors;
    const out = join(dir, 'out');
    const args = [
      '--model',
      join(dir, 'model'),
      '--temperatures',
      '1,0.5',
      '--seeds',
      '2',
      '--eval-size',
      '4',
    ];
    const points = await runTemperatureSweep([...args, '--test-offset', '10', '--out', out]);
    expect(tf.memory().numTensors).toBe(tensors); // model and classifier disposed, no leak
    expect(points.map((p) => [p.temperature, p.seed])).toEqual([
      [1, 1000],
      [1, 8919],
      [0.5, 1000],
      [0.5, 8919],
    ]);
    for (const p of points) {
      expect(Object.keys(p.metrics).sort()).toEqual(['1-NNA-CD', 'COV-CD', 'MMD-CD']);
      expect(p.confident).toBeGreaterThanOrEqual(0);
      expect(p.confident).toBeLessThanOrEqual(1);
    }
    const lines = (await readFile(join(out, 'temperature.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.step, l.testOffset, l.temperature, l.seed])).toEqual(
      points.map((p) => [0, 10, p.temperature, p.seed]),
    );
    expect((await readdir(out)).filter((f) => f.endsWith('.png')).sort()).toEqual([
      'samples-t0.5.png',
      'samples-t1.png',
    ]);
    // --classifier scores with another classifier: one whose output bias says "3" for every set
    const biased = new DigitClassifier({ ...CLASSIFIER_CONFIG, hiddenDim: 8, inducingPoints: 2, points: 12 });
    const bias = biased.variables[biased.variables.length - 1];
    const value = tf.tensor1d(Array.from({ length: NUM_CLASSES }, (_, c) => (c === 3 ? 100 : 0)));
    bias.assign(value);
    value.dispose();
    await biased.save(join(dir, 'classifier'));
    biased.dispose();
    // … and --reconstructions scores the reconstructions of the reference digits as well, one per seed
    const [threes, reconstructed] = await runTemperatureSweep([
      ...args,
      '--temperatures',
      '1',
      '--seeds',
      '1',
      '--classifier',
      join(dir, 'classifier'),
      '--reconstructions',
      '--out',
      join(dir, 'out3'),
    ]);
    expect(threes.confident).toBe(1);
    expect(threes.classEntropy).toBe(0);
    expect(threes.reconstruction).toBeUndefined();
    expect(reconstructed.reconstruction).toBe(true);
    expect(reconstructed.seed).toBe(1000);
    expect(reconstructed.confident).toBe(1); // scored by the classifier given, as the samples
    expect(Object.keys(reconstructed.metrics).sort()).toEqual(['1-NNA-CD', 'COV-CD', 'MMD-CD']);
    const logged = (await readFile(join(dir, 'out3', 'temperature.jsonl'), 'utf8')).trim().split('\n');
    expect(logged.map((l) => JSON.parse(l).reconstruction ?? false)).toEqual([false, true]);
    expect(tf.memory().numTensors).toBe(tensors);
    await expect(runTemperatureSweep([...args, '--classifier', join(dir, 'none')])).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(tensors); // the model loaded before the failure is disposed
    await expect(runTemperatureSweep([...args, '--temperatures', '1,-1'])).rejects.toThrow(/--temperatures/);
    await expect(runTemperatureSweep([...args, '--test-offset', '9999'])).rejects.toThrow(/at most/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('tables mean ± 95 % CI per temperature', () => {
  const point = (temperature: number, nna: number): SweepPoint => ({
    temperature,
    seed: 0,
    metrics: { '1-NNA-CD': nna, 'COV-CD': 0.5, 'MMD-CD': 0.003 },
    confident: 0.25,
    rejected: 0,
    classEntropy: 2,
  });
  const reconstruction = { ...point(Number.NaN, 0.4), reconstruction: true };
  const table = sweepTable([point(1, 0.8), point(1, 0.9), point(2, 0.7), reconstruction]).split('\n');
  expect(table).toHaveLength(5);
  // 1-NNA 85 ± 12.706·(7.07/√2) = 85 ± 63.53; a single seed has no interval
  expect(table[2]).toMatch(
    /^\| 1 \| 2 \| 85\.00 ± 63\.53 \| 50\.00 ± 0\.00 \| 3\.00 ± 0\.00 \| 25\.00 ± 0\.00 \|/,
  );
  expect(table[3]).toMatch(/^\| 2 \| 1 \| 70\.00 \| 50\.00 \| 3\.00 \| 25\.00 \| 0\.00 \| 2\.00 \|$/);
  expect(table[4]).toMatch(/^\| reconstructions \| 1 \| 40\.00 \|/);
});
