import { ConfigError, DataError } from '@setgen/ops';
import { describe, expect, it } from 'vitest';
import { classifierScore } from './classifier-score.js';

/** Row-major rows of length `c` from a list of rows. */
const rows = (...r: number[][]) => Float32Array.from(r.flat());

describe('classifierScore', () => {
  it('sharp, balanced predictions: all confident, entropy log C, inception score C', () => {
    const p = rows([1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0]);
    const s = classifierScore(p, 3);
    expect(s.confident).toBe(1);
    expect(s.rejected).toBe(0);
    expect(s.histogram).toEqual([2, 2, 2]);
    expect(s.histogramEntropy).toBeCloseTo(Math.log(3), 12);
    expect(s.maxEntropy).toBeCloseTo(Math.log(3), 12);
    expect(s.inceptionScore).toBeCloseTo(3, 6);
  });

  it('uniform predictions: nothing confident, inception score 1', () => {
    const s = classifierScore(rows([0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]), 4);
    expect(s.confident).toBe(0);
    expect(s.inceptionScore).toBeCloseTo(1, 6);
  });

  it('threshold, histogram entropy and inception score by hand', () => {
    // tops: class 0 (0.95, confident), class 0 (0.6), class 1 (0.9, confident at 0.9)
    const p = [0.95, 0.05, 0.6, 0.4, 0.1, 0.9];
    const s = classifierScore(p, 2);
    expect(s.confident).toBeCloseTo(2 / 3, 12);
    expect(s.histogram).toEqual([2, 1]);
    const h = -(2 / 3) * Math.log(2 / 3) - (1 / 3) * Math.log(1 / 3);
    expect(s.histogramEntropy).toBeCloseTo(h, 12);
    const mean = [(0.95 + 0.6 + 0.1) / 3, (0.05 + 0.4 + 0.9) / 3];
    const kl = (q: number[]) => q.reduce((sum, qc, c) => sum + qc * Math.log(qc / mean[c]), 0);
    const is = Math.exp((kl([0.95, 0.05]) + kl([0.6, 0.4]) + kl([0.1, 0.9])) / 3);
    expect(s.inceptionScore).toBeCloseTo(is, 5);
    expect(classifierScore(p, 2, { threshold: 0.95 }).confident).toBeCloseTo(1 / 3, 12);
  });

  it('a reject class is never confident and stays out of the histogram entropy', () => {
    const p = rows([0.99, 0, 0.01], [0, 0.02, 0.98], [0, 0.01, 0.99], [0.05, 0.95, 0]);
    const s = classifierScore(p, 3, { rejectClass: 2 });
    expect(s.confident).toBe(0.5);
    expect(s.rejected).toBe(0.5);
    expect(s.histogram).toEqual([1, 1, 2]);
    expect(s.histogramEntropy).toBeCloseTo(Math.log(2), 12);
    expect(s.maxEntropy).toBeCloseTo(Math.log(2), 12);
    const all = classifierScore(rows([0, 0, 1]), 3, { rejectClass: 2 });
    expect([all.confident, all.rejected, all.histogramEntropy]).toEqual([0, 1, 0]);
  });

  it('refuses malformed probabilities and options, naming them', () => {
    expect(() => classifierScore([0.5, 0.5, 1], 2)).toThrow(DataError);
    expect(() => classifierScore([0.5, 0.5, 1], 2)).toThrow(/probabilities: .*\[N, 2\].*length 3/);
    expect(() => classifierScore([], 2)).toThrow(DataError);
    expect(() => classifierScore([0.5, Number.NaN], 2)).toThrow(/probabilities\[0\]\[1\]/);
    expect(() => classifierScore([0.7, 0.7], 2)).toThrow(/probabilities\[0\]: expected a row summing to 1/);
    expect(() => classifierScore([1.5, -0.5], 2)).toThrow(DataError);
    expect(() => classifierScore([1, 0], 1)).toThrow(ConfigError);
    expect(() => classifierScore([1, 0], 2, { threshold: 0 })).toThrow(/options.threshold/);
    expect(() => classifierScore([1, 0], 2, { rejectClass: 2 })).toThrow(/options.rejectClass/);
  });
});
