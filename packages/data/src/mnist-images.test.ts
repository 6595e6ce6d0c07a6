import { ConfigError } from '@setgen/ops';
import { expect, it } from 'vitest';
import { bundledMnistDigits } from './mnist-images.js';

it('without Node (no process.getBuiltinModule) asks for images instead of bundling them', () => {
  const original = process.getBuiltinModule;
  try {
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    expect(() => bundledMnistDigits()).toThrow(ConfigError);
    expect(() => bundledMnistDigits()).toThrow(/in a browser pass `images`/);
  } finally {
    process.getBuiltinModule = original;
  }
});

it('reads the 10,000 digits of the mnist package once (cached), 0..255 with ~1,000 per class', () => {
  const digits = bundledMnistDigits();
  expect(bundledMnistDigits()).toBe(digits);
  expect([digits.count, digits.rows, digits.cols, digits.pixels.length]).toEqual([10000, 28, 28, 7840000]);
  const perClass = new Array(10).fill(0);
  for (const label of digits.labels) perClass[label]++;
  for (const n of perClass) expect(n).toBeGreaterThan(800);
  let max = 0;
  for (const v of digits.pixels) max = Math.max(max, v);
  expect(max).toBe(255);
  // the first digit of the package is a 0 whose first non-zero intensity is 0.2 → 51
  expect(digits.labels[0]).toBe(0);
  expect(digits.pixels.find((v) => v > 0)).toBe(51);
});
