import { DataError } from '@setgen/ops';

/** A decoded IDX array (the MNIST file format), C order. */
export interface IdxArray {
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
  shape: number[];
}

// IDX type byte → [bytes per element, reader]
const IDX_TYPES: Record<
  number,
  [number, (v: DataView, o: number) => number, new (n: number) => IdxArray['data']]
> = {
  8: [1, (v, o) => v.getUint8(o), Uint8Array],
  9: [1, (v, o) => v.getInt8(o), Int8Array],
  11: [2, (v, o) => v.getInt16(o), Int16Array],
  12: [4, (v, o) => v.getInt32(o), Int32Array],
  13: [4, (v, o) => v.getFloat32(o), Float32Array],
  14: [8, (v, o) => v.getFloat64(o), Float64Array],
};

/**
 * Decodes an IDX file (big endian; magic `0 0 type rank`, then `rank` uint32 sizes, then the
 * data). `name` (e.g. the path) appears in errors; a gzipped file must be gunzipped first.
 */
export function readIdx(bytes: Uint8Array, name = 'bytes'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !(bytes[2] in IDX_TYPES)) {
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (gzipped: gunzip it first)' : '';
    throw new DataError(`${name}: not an IDX file${gz}, expected magic 00 00 <type 08..0e> <rank>`);
  }
  const [itemSize, get, Type] = IDX_TYPES[bytes[2]];
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataStart = 4 + 4 * rank;
  if (bytes.length < dataStart) throw new DataError(`${name}: truncated IDX header (rank ${rank})`);
  const shape = Array.from({ length: rank }, (_, k) => view.getUint32(4 + 4 * k));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = dataStart + count * itemSize;
  if (bytes.length !== expected) {
    throw new DataError(
      `${name}: ${bytes.length < expected ? 'truncated' : 'oversized'} IDX data: shape [${shape.join(',')}] needs ${expected} bytes, file has ${bytes.length}`,
    );
  }
  const data = new Type(count);
  for (let i = 0; i < count; i++) data[i] = get(view, dataStart + i * itemSize);
  return { data, shape };
}
