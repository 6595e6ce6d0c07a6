import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { readNpy, writeNpy } from './npy.js';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(join(import.meta.dirname, '__fixtures__', name)));

describe('readNpy (files written by numpy)', () => {
  it.each([
    ['npy-f4-c.npy', 'float32', [2, 3], [-1, -0.5, 0, 0.5, 1, 1.5], Float32Array],
    ['npy-f8-big.npy', 'float64', [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25], Float64Array],
    ['npy-i2-fortran.npy', 'int16', [2, 3], [-3, -2, -1, 0, 1, 2], Int16Array],
    ['npy-u1-v2.npy', 'uint8', [2, 3], [0, 1, 2, 3, 4, 5], Uint8Array],
    ['npy-f4-v3.npy', 'float32', [3, 2], [0, 3, 1, 4, 2, 5], Float32Array],
    ['npy-bool.npy', 'bool', [3], [1, 0, 1], Uint8Array],
    ['npy-f2.npy', 'float16', [3], [1.5, -2, 0.0009765625], Float32Array],
    ['npy-scalar.npy', 'float64', [], [3.25], Float64Array],
  ] as const)('%s', (file, dtype, shape, values, type) => {
    const array = readNpy(fixture(file), file);
    expect(array.dtype).toBe(dtype);
    expect(array.shape).toEqual(shape);
    expect(array.data).toBeInstanceOf(type);
    expect(Array.from(array.data)).toEqual(values);
  });

  it('returns C order for rank-3 Fortran arrays', () => {
    const array = readNpy(fixture('npy-f4-fortran-3d.npy'));
    expect(array.shape).toEqual([2, 3, 4]);
    expect(Array.from(array.data)).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('converts int64 to exact Numbers', () => {
    const array = readNpy(fixture('npy-i8-3d.npy'));
    expect(array.shape).toEqual([2, 3, 4]);
    expect(array.data).toBeInstanceOf(Float64Array);
    expect(Array.from(array.data)).toEqual(Array.from({ length: 24 }, (_, i) => i * -1000000007 || 0));
  });
});

describe('readNpy errors', () => {
  const good = fixture('npy-f4-c.npy');
  const withHeader = (header: string, dataBytes: number) => {
    const padded = `${header.padEnd(118, ' ')}\n`;
    const out = new Uint8Array(10 + padded.length + dataBytes);
    out.set(good.subarray(0, 8));
    new DataView(out.buffer).setUint16(8, padded.length, true);
    out.set(new TextEncoder().encode(padded), 10);
    return out;
  };

  it.each([
    [
      'truncated data',
      good.subarray(0, good.length - 3),
      /a\.npy: truncated \.npy data.*needs 24 bytes, file has 21/,
    ],
    ['bad magic', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), /a\.npy: not an \.npy file/],
    ['empty file', new Uint8Array(0), /not an \.npy file/],
    ['truncated header', good.subarray(0, 40), /truncated \.npy header/],
    [
      'unsupported version',
      Uint8Array.from([...good.subarray(0, 6), 9, 0, ...good.subarray(8)]),
      /version 9\.0/,
    ],
    ['bad header', withHeader("{'descr': '<f4', 'shape': (2,), }", 8), /bad \.npy header/],
    [
      'unsupported dtype',
      withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8),
      /unsupported \.npy dtype '<c8'/,
    ],
    [
      'object dtype',
      withHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8),
      /unsupported \.npy dtype '\|O'/,
    ],
    [
      'structured dtype',
      withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4),
      /bad \.npy header/,
    ],
    ['oversized data', Uint8Array.from([...good, 0, 0, 0, 0]), /oversized/],
  ])('%s → DataError naming the file', (_what, bytes, message) => {
    expect(() => readNpy(bytes, 'a.npy')).toThrow(DataError);
    expect(() => readNpy(bytes, 'a.npy')).toThrow(message);
  });

  it('rejects int64 values beyond 2^53', () => {
    const bytes = withHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", 8);
    new DataView(bytes.buffer).setBigInt64(bytes.length - 8, 2n ** 60n, true);
    expect(() => readNpy(bytes)).toThrow(/not exactly representable/);
  });
});

describe('writeNpy', () => {
  it('writes the same bytes as numpy', () => {
    const bytes = writeNpy(new Float32Array([-1, -0.5, 0, 0.5, 1, 1.5]), [2, 3]);
    expect(Array.from(bytes)).toEqual(Array.from(fixture('npy-f4-c.npy')));
  });

  it.each([
    [new Float64Array([1.5, -2, 3e300]), [3]],
    [new Int32Array([-7, 8, 2 ** 31 - 1, 0]), [2, 2]],
    [new Uint8Array([0, 255]), [1, 2, 1]],
    [new Int8Array([-128, 127]), [2]],
    [new Uint16Array([65535]), [1]],
    [new Int16Array([-32768]), [1]],
    [new Uint32Array([4294967295]), [1]],
    [[0.1, 0.2], [2]],
  ] as const)('round-trips %o', (data, shape) => {
    const bytes = writeNpy(data, shape);
    expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
    const back = readNpy(bytes);
    expect(back.shape).toEqual(shape);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('checks the shape against the data', () => {
    expect(() => writeNpy(new Float32Array(5), [2, 3])).toThrow(/expected 6 values for shape \[2,3\], got 5/);
    expect(() => writeNpy(new Float32Array(1), [-1])).toThrow(DataError);
  });
});
