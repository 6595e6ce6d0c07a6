import { DataError } from './errors.js';

/**
 * NumPy `.npy` files (format spec: numpy.lib.format, versions 1.0–3.0) read and written
 * without dependencies, so sets can travel between Python references and TF.js.
 */

/** Element types we read; int64/uint64 are converted to Number (exact below 2^53). */
export type NpyDtype =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/** The typed arrays an `.npy` file reads into or is written from (int64/uint64 are read as Float64Array, checked to be exact). */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/** A decoded array: `data` always in C (row-major) order, whatever the file's order. */
export interface NpyArray {
  data: NpyData;
  shape: number[];
  /** The file's element type (int64/uint64 arrive as Float64Array, float16 as Float32Array, bool as Uint8Array). */
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

// type char + byte size → dtype name
const DTYPES: Record<string, NpyDtype> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

interface Header {
  littleEndian: boolean;
  kind: string;
  itemSize: number;
  dtype: NpyDtype;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string, name: string): Header {
  const descr = /'descr'\s*:\s*'([<>|=])([a-zA-Z])(\d*)'/.exec(text);
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!text.trimStart().startsWith('{') || !descr || !order || !shapeMatch) {
    throw new DataError(
      `${name}: bad .npy header, expected a dict with 'descr' (simple dtype), 'fortran_order' and 'shape', got ${JSON.stringify(text.trim().slice(0, 120))}`,
    );
  }
  const [, byteOrder, kind, size] = descr;
  const dtype = DTYPES[`${kind}${size}`];
  if (!dtype) {
    throw new DataError(
      `${name}: unsupported .npy dtype '${byteOrder}${kind}${size}', expected float16/32/64, int8..64, uint8..64 or bool`,
    );
  }
  const shape = shapeMatch[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(v) || v < 0)
        throw new DataError(`${name}: bad .npy shape (${shapeMatch[1]})`);
      return v;
    });
  // '=' is native order; numpy writes '<' or '>' for multi-byte types and '|' for single bytes.
  const littleEndian = byteOrder === '<' || byteOrder === '|' || (byteOrder === '=' && HOST_LITTLE_ENDIAN);
  return { littleEndian, kind, itemSize: Number(size), dtype, fortranOrder: order[1] === 'True', shape };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

// Types whose bytes can be copied straight into a typed array when the byte order is the host's.
const NATIVE_TYPES: Record<string, new (buffer: ArrayBuffer) => NpyData> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  u1: Uint8Array,
  b1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
};

function decodeValues(view: DataView, count: number, header: Header, name: string): NpyData {
  const { kind, itemSize, littleEndian } = header;
  const Native = NATIVE_TYPES[`${kind}${itemSize}`];
  if (Native && (itemSize === 1 || littleEndian === HOST_LITTLE_ENDIAN)) {
    // Fast path: one copy (also realigns the data, which follows a header of any length).
    const start = view.byteOffset;
    return new Native(view.buffer.slice(start, start + count * itemSize) as ArrayBuffer);
  }
  const at = (i: number) => i * itemSize;
  const read = <T extends NpyData>(out: T, get: (offset: number) => number): T => {
    for (let i = 0; i < count; i++) out[i] = get(at(i));
    return out;
  };
  switch (`${kind}${itemSize}`) {
    case 'f2':
      return read(new Float32Array(count), (o) => halfToFloat(view.getUint16(o, littleEndian)));
    case 'f4':
      return read(new Float32Array(count), (o) => view.getFloat32(o, littleEndian));
    case 'f8':
      return read(new Float64Array(count), (o) => view.getFloat64(o, littleEndian));
    case 'i1':
      return read(new Int8Array(count), (o) => view.getInt8(o));
    case 'i2':
      return read(new Int16Array(count), (o) => view.getInt16(o, littleEndian));
    case 'i4':
      return read(new Int32Array(count), (o) => view.getInt32(o, littleEndian));
    case 'u1':
    case 'b1':
      return read(new Uint8Array(count), (o) => view.getUint8(o));
    case 'u2':
      return read(new Uint16Array(count), (o) => view.getUint16(o, littleEndian));
    case 'u4':
      return read(new Uint32Array(count), (o) => view.getUint32(o, littleEndian));
    default: {
      // i8 / u8: exact as Number only within ±2^53.
      const signed = kind === 'i';
      return read(new Float64Array(count), (o) => {
        const big = signed ? view.getBigInt64(o, littleEndian) : view.getBigUint64(o, littleEndian);
        const v = Number(big);
        if (!Number.isSafeInteger(v)) {
          throw new DataError(
            `${name}: ${header.dtype} value ${big} at element ${o / itemSize} is not exactly representable as a Number`,
          );
        }
        return v;
      });
    }
  }
}

/** Fortran (column-major) → C (row-major) order. */
function toCOrder(data: NpyData, shape: number[]): NpyData {
  const rank = shape.length;
  if (rank < 2) return data;
  const out = new (data.constructor as new (n: number) => NpyData)(data.length);
  const index = new Array<number>(rank).fill(0);
  // Walk the C order; the Fortran offset has strides 1, shape[0], shape[0]*shape[1], ...
  const fStrides = new Array<number>(rank);
  fStrides[0] = 1;
  for (let k = 1; k < rank; k++) fStrides[k] = fStrides[k - 1] * shape[k - 1];
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let k = 0; k < rank; k++) f += index[k] * fStrides[k];
    out[c] = data[f];
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

/**
 * Decodes an `.npy` file. `name` (e.g. the path) appears in every error. Throws `DataError`
 * for bad magic, unknown version, malformed header, unsupported dtype, truncated or
 * oversized data.
 */
export function readNpy(bytes: Uint8Array | ArrayBuffer, name = 'bytes'): NpyArray {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new DataError(
      `${name}: not an .npy file (expected magic \\x93NUMPY, got ${buf.length} bytes starting ${JSON.stringify(String.fromCharCode(...buf.slice(0, 6)))})`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6];
  if (major < 1 || major > 3)
    throw new DataError(
      `${name}: unsupported .npy format version ${major}.${buf[7]}, expected 1.0, 2.0 or 3.0`,
    );
  const lengthBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthBytes;
  if (buf.length < headerStart) throw new DataError(`${name}: truncated .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLength;
  if (buf.length < dataStart) {
    throw new DataError(
      `${name}: truncated .npy header (declares ${headerLength} bytes, file has ${buf.length - headerStart})`,
    );
  }
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    buf.subarray(headerStart, dataStart),
  );
  const header = parseHeader(headerText, name);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * header.itemSize;
  const actual = buf.length - dataStart;
  if (actual !== expected) {
    throw new DataError(
      `${name}: ${actual < expected ? 'truncated' : 'oversized'} .npy data: shape (${header.shape.join(', ')}) of ${header.dtype} needs ${expected} bytes, file has ${actual}`,
    );
  }
  const dataView = new DataView(buf.buffer, buf.byteOffset + dataStart, expected);
  const values = decodeValues(dataView, count, header, name);
  return {
    data: header.fortranOrder ? toCOrder(values, header.shape) : values,
    shape: header.shape,
    dtype: header.dtype,
  };
}

const WRITE_DESCR: Array<[new (...args: never[]) => NpyData, string, number]> = [
  [Float32Array, '<f4', 4],
  [Float64Array, '<f8', 8],
  [Int8Array, '|i1', 1],
  [Int16Array, '<i2', 2],
  [Int32Array, '<i4', 4],
  [Uint8Array, '|u1', 1],
  [Uint16Array, '<u2', 2],
  [Uint32Array, '<u4', 4],
];

/**
 * Encodes an array as an `.npy` file (format 1.0, C order, little endian, header padded to
 * 64 bytes like numpy). The dtype follows the typed array; a plain `number[]` is written as float64.
 */
export function writeNpy(array: NpyData | readonly number[], shape: readonly number[]): Uint8Array {
  if (!shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw new DataError(`writeNpy: shape: expected non-negative integers, got [${shape.join(',')}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (array.length !== count) {
    throw new DataError(
      `writeNpy: array: expected ${count} values for shape [${shape.join(',')}], got ${array.length}`,
    );
  }
  const data: NpyData = Array.isArray(array) ? Float64Array.from(array) : (array as NpyData);
  const entry = WRITE_DESCR.find(([type]) => data instanceof type);
  if (!entry) throw new DataError('writeNpy: array: unsupported array type');
  const [, descr, itemSize] = entry;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + count * itemSize);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < count; i++) {
    const o = i * itemSize;
    const v = data[i];
    switch (descr) {
      case '<f4':
        view.setFloat32(o, v, true);
        break;
      case '<f8':
        view.setFloat64(o, v, true);
        break;
      case '|i1':
        view.setInt8(o, v);
        break;
      case '<i2':
        view.setInt16(o, v, true);
        break;
      case '<i4':
        view.setInt32(o, v, true);
        break;
      case '|u1':
        view.setUint8(o, v);
        break;
      case '<u2':
        view.setUint16(o, v, true);
        break;
      default:
        view.setUint32(o, v, true);
    }
  }
  return out;
}
