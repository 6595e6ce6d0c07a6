import { expect, it } from 'vitest';
import { meanCi } from './mean-ci.js';

it('gives the mean and the Student-t 95 % half-width', () => {
  // two values: t_{0.975,1} · s/√2 with s = |a − b|/√2, i.e. 12.706 · |a − b| / 2
  const two = meanCi([1, 3]);
  expect(two.mean).toBe(2);
  expect(two.ci).toBeCloseTo(12.706, 10);
  // 1, 2, 3, 4, 5: s = √2.5, t_{0.975,4} = 2.776 (scipy.stats.t.ppf(0.975, 4) = 2.7764)
  const five = meanCi([5, 1, 4, 2, 3]);
  expect(five.mean).toBe(3);
  expect(five.ci).toBeCloseTo((2.776 * Math.sqrt(2.5)) / Math.sqrt(5), 10);
  // equal values: no spread; one value: no interval
  expect(meanCi([0.7, 0.7, 0.7]).ci).toBeCloseTo(0, 12);
  expect(meanCi([0.7])).toEqual({ mean: 0.7, ci: Number.NaN });
  // many values: the normal quantile
  const many = Array.from({ length: 40 }, (_, i) => i % 2);
  expect(meanCi(many).ci).toBeCloseTo((1.96 * Math.sqrt(40 / 39 / 4)) / Math.sqrt(40), 10);
});

it('rejects no values and non-finite ones', () => {
  expect(() => meanCi([])).toThrow(/at least one value/);
  expect(() => meanCi([1, Number.NaN])).toThrow(/finite/);
});
