import { describe, expect, it } from 'vitest';
import { autoSmoothing, emaSmooth } from './smoothing.js';

describe('emaSmooth', () => {
  it('is the bias-corrected EMA (hand-computed for w = 0.5)', () => {
    const s = emaSmooth([1, 2, 3], 0.5);
    // s_t = 0.5 s_{t-1} + 0.5 x_t, divided by 1 − 0.5^t: 0.5/0.5, 1.25/0.75, 2.125/0.875
    expect(Array.from(s)).toEqual([1, 1.25 / 0.75, 2.125 / 0.875].map((v) => expect.closeTo(v, 12)));
  });

  it('keeps a constant constant, skips non-finite values, and weight 0 is the identity', () => {
    expect(Array.from(emaSmooth([4, 4, 4, 4], 0.9))).toEqual([4, 4, 4, 4].map((v) => expect.closeTo(v, 12)));
    const s = emaSmooth([2, Number.NaN, 2, Number.POSITIVE_INFINITY, 2], 0.7);
    expect(Number.isNaN(s[1]) && Number.isNaN(s[3])).toBe(true);
    expect([s[0], s[2], s[4]]).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)));
    expect(Array.from(emaSmooth([3, -1, 5], 0))).toEqual([3, -1, 5]);
  });

  it('refuses a weight outside [0, 1)', () => {
    expect(() => emaSmooth([1], 1)).toThrow(/weight/);
    expect(() => emaSmooth([1], -0.1)).toThrow(/weight/);
    expect(() => emaSmooth([1], Number.NaN)).toThrow(/weight/);
  });

  it('autoSmoothing averages over about n / 64 steps, none for short runs', () => {
    expect(autoSmoothing(10)).toBe(0);
    expect(autoSmoothing(6400)).toBeCloseTo(0.99, 12);
  });
});
