import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halfResolution, studyData } from './data.js';
import { channels, meanCi, table } from './report.js';
import { buildModel, needsRescore, type RunSpec, rescore, runOne, trainingBatches } from './study.js';

describe('set-prediction-mnist', () => {
  const dir = mkdtempSync(join(tmpdir(), 'set-prediction-'));
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('halves the resolution by 2×2 averages', () => {
    const pixels = Uint8Array.from({ length: 16 }, (_, i) => i * 10);
    const half = halfResolution({ pixels, labels: Int32Array.from([3]), count: 1, rows: 4, cols: 4 });
    // blocks {0,10,40,50}, {20,30,60,70}, {80,90,120,130}, {100,110,140,150}
    expect(Array.from(half.pixels)).toEqual([25, 45, 105, 125]);
    expect([half.rows, half.cols]).toEqual([2, 2]);
  });

  it('mean ± 95 % CI uses Student t (3 seeds: 4.303·sd/√3)', () => {
    const { mean, ci } = meanCi([1, 2, 3]);
    expect(mean).toBe(2);
    expect(ci).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 6);
    expect(channels('dspn')).toBe(3);
    expect(channels('tspn')).toBe(2);
  });

  it("batches as the model's config says: DSPN drops the last partial batch, TSPN keeps it", async () => {
    const data = studyData(14, 10, 2);
    const spec = (model: 'dspn' | 'tspn', dropLast?: boolean): RunSpec => ({
      model,
      creation: 'first-n',
      seed: 0,
      steps: 1,
      batchSize: 4,
      learningRate: 1e-3,
      width: 4,
      latentDim: 2,
      maxSize: data.maxSize,
      innerLearningRate: 800,
      ...(dropLast === undefined ? {} : { dropLast }),
    });
    const sizesOf = async (s: RunSpec) => {
      const model = buildModel(s);
      const epoch = trainingBatches(model, data.train.sets, 0);
      const sizes: number[] = [];
      for await (const batch of epoch(0)) {
        sizes.push(batch.x.shape[0]);
        tf.dispose([batch.x, batch.mask as tf.Tensor]);
      }
      model.dispose();
      return { sizes, stepsPerEpoch: epoch.stepsPerEpoch };
    };
    expect(await sizesOf(spec('dspn'))).toEqual({ sizes: [4, 4], stepsPerEpoch: 2 });
    expect(await sizesOf(spec('tspn'))).toEqual({ sizes: [4, 4, 2], stepsPerEpoch: 3 });
    expect(await sizesOf(spec('dspn', false))).toEqual({ sizes: [4, 4, 2], stepsPerEpoch: 3 });
    expect(await sizesOf(spec('tspn', true))).toEqual({ sizes: [4, 4], stepsPerEpoch: 2 });
  });

  it('one DSPN and one TSPN run train, score and tabulate (tiny)', async () => {
    const data = studyData(14, 8, 4);
    expect(data.maxSize).toBeGreaterThan(10);
    const results = [];
    for (const model of ['dspn', 'tspn'] as const) {
      const spec: RunSpec = {
        model,
        creation: 'top-n',
        seed: 0,
        steps: 2,
        batchSize: 4,
        learningRate: 1e-3,
        width: 8,
        latentDim: 4,
        maxSize: data.maxSize,
        innerLearningRate: 800,
      };
      const { result, model: trained } = await runOne(
        spec,
        { train: data.train, trainScore: data.train, test: data.test },
        dir,
        () => {},
      );
      expect(result.curve.map((c) => c.step)).toEqual([1, 2]);
      expect(Number.isFinite(model === 'dspn' ? result.test.final : result.test.chamfer)).toBe(true);
      expect(trained.step).toBe(2);
      // DSPN runs record their inner-loss reduction; only batch-mean scores are scored again
      expect(result.scoredWith).toBe(model === 'dspn' ? 'fixed-batch' : '');
      expect(needsRescore(result)).toBe(false);
      expect(needsRescore({ ...result, scoredWith: undefined })).toBe(model === 'dspn');
      if (model === 'dspn') {
        const again = await rescore(
          { ...result, scoredWith: undefined },
          { trainScore: data.train, test: data.test },
          dir,
        );
        expect(again.test.final).toBeCloseTo(result.test.final, 6);
        expect(again.curve).toEqual(result.curve);
      }
      trained.dispose();
      results.push(result);
    }
    const markdown = table(results);
    expect(markdown.split('\n')).toHaveLength(4);
    expect(markdown).toContain('| DSPN | top-n | 0 |');
    expect(markdown).toContain('22.59 ± 1.71');
  }, 120_000);
});
