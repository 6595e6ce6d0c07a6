import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '@setgen/ops';
import { describe, expect, it } from 'vitest';
import { readIdx } from './idx.js';
import { mnistImagesFromIdx } from './mnist-images.js';
import { setMnist } from './set-mnist.js';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(join(import.meta.dirname, '__fixtures__', name)));

describe('readIdx (files written by Python)', () => {
  it('uint8 images + gzipped labels → MnistImages → Set-MNIST points', () => {
    const images = mnistImagesFromIdx(
      fixture('idx-images-ubyte'),
      gunzipSync(fixture('idx-labels-ubyte.gz')),
    );
    expect([images.count, images.rows, images.cols]).toEqual([2, 4, 5]);
    expect(Array.from(images.labels)).toEqual([3, 8]);
    const sets = setMnist({
      split: 'all',
      images,
      convention: 'dspn',
      layout: 'row-col',
      shufflePoints: false,
    });
    // row-col, / (max(rows, cols) − 1) = /4; the 10-valued pixel is below the threshold
    expect(sets.sets.map((s) => Array.from(s.values))).toEqual([
      [0.25, 0.5, 0.5, 0.5],
      [0.75, 1],
    ]);
  });

  it('int32 and float64 types', () => {
    expect(readIdx(fixture('idx-int32.idx'))).toEqual({
      data: Int32Array.from([-1, 2, 300000, -400000]),
      shape: [2, 2],
    });
    expect(readIdx(fixture('idx-float64.idx'))).toEqual({
      data: Float64Array.from([0.5, -2.25, 1e10]),
      shape: [3],
    });
  });

  it.each([
    ['gzipped input', fixture('idx-labels-ubyte.gz'), /f\.idx: not an IDX file \(gzipped: gunzip it first\)/],
    ['bad magic', Uint8Array.from([1, 2, 3, 4, 0, 0]), /f\.idx: not an IDX file, expected magic/],
    ['unknown type', Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]), /not an IDX file/],
    ['truncated header', Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2]), /truncated IDX header \(rank 3\)/],
    [
      'truncated data',
      fixture('idx-images-ubyte').subarray(0, 50),
      /truncated IDX data: shape \[2,4,5\] needs 56 bytes, file has 50/,
    ],
    ['oversized data', Uint8Array.from([...fixture('idx-int32.idx'), 0]), /oversized IDX data/],
  ])('%s → DataError naming the file', (_what, bytes, message) => {
    expect(() => readIdx(bytes, 'f.idx')).toThrow(DataError);
    expect(() => readIdx(bytes, 'f.idx')).toThrow(message);
  });

  it('rejects labels that do not match the images', () => {
    const labels = gunzipSync(fixture('idx-labels-ubyte.gz')).subarray(0, 9);
    labels[7] = 1; // declare 1 label
    expect(() => mnistImagesFromIdx(fixture('idx-images-ubyte'), labels, ['img', 'lab'])).toThrow(
      /lab: expected 2 labels \(shape \[2\]\), got \[1\]/,
    );
    expect(() => mnistImagesFromIdx(fixture('idx-int32.idx'), labels, ['img', 'lab'])).toThrow(
      /img: expected uint8 images/,
    );
  });
});
