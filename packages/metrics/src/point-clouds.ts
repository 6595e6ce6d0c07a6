import { DataError, formatShape, type HostSet, ShapeError } from '@setgen/ops';
import { checkHostSet, isTensor } from '@setgen/ops/internal';
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * A collection of point clouds: an array of host sets (sizes may differ) or a `[K, N, D]`
 * tensor (K clouds of N points; read with `await t.data()`, the tensor is not disposed).
 */
export type PointClouds = readonly HostSet[] | Tensor;

/**
 * Checks a collection's shapes (no data read yet): a non-empty array of well-formed host sets
 * or a rank-3 tensor with K, N ≥ 1. Returns the dimensionality D.
 */
export function checkPointCloudShapes(clouds: PointClouds, name: string): number {
  if (isTensor(clouds)) {
    const shape = clouds.shape;
    if (shape.length !== 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1) {
      throw new ShapeError(
        `${name}: expected a tensor of shape [K,N,D] with K, N, D ≥ 1, got ${formatShape(shape)}`,
      );
    }
    if (clouds.dtype !== 'float32')
      throw new DataError(`${name}: expected a float32 tensor, got dtype ${clouds.dtype}`);
    return shape[2];
  }
  if (!Array.isArray(clouds)) {
    throw new ShapeError(
      `${name}: expected an array of HostSet { values, n, d } or a [K,N,D] tensor, got ${typeof clouds}`,
    );
  }
  if (clouds.length === 0)
    throw new DataError(`${name}: expected at least one point cloud, got an empty collection`);
  let d = -1;
  clouds.forEach((set: HostSet, k: number) => {
    // the layout (ShapeError) and n ≥ 1 (DataError); the values are checked when read
    checkHostSet(set, `${name}[${k}]`, { finite: false });
    if (d >= 0 && set.d !== d) {
      throw new ShapeError(`${name}[${k}]: expected dimension d = ${d} like ${name}[0], got d = ${set.d}`);
    }
    d = set.d;
  });
  return d;
}

/**
 * Reads a collection into host sets (a tensor is split into views of one `data()` copy) and
 * checks that every coordinate is finite. Call {@link checkPointCloudShapes} first.
 */
export async function readPointClouds(clouds: PointClouds, name: string): Promise<HostSet[]> {
  const data = isTensor(clouds) ? ((await clouds.data()) as Float32Array) : undefined;
  return hostSetsOf(clouds, data, name);
}

/** {@link readPointClouds} with a blocking `dataSync()` for tensors. */
export function readPointCloudsSync(clouds: PointClouds, name: string): HostSet[] {
  const data = isTensor(clouds) ? (clouds.dataSync() as Float32Array) : undefined;
  return hostSetsOf(clouds, data, name);
}

function hostSetsOf(clouds: PointClouds, tensorData: Float32Array | undefined, name: string): HostSet[] {
  let sets: HostSet[];
  if (isTensor(clouds) && tensorData) {
    const [k, n, d] = clouds.shape;
    sets = Array.from({ length: k }, (_, i) => ({
      values: tensorData.subarray(i * n * d, (i + 1) * n * d),
      n,
      d,
    }));
  } else {
    sets = [...(clouds as readonly HostSet[])];
  }
  sets.forEach((set, k) => {
    const { values, d } = set;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new DataError(
          `${name}[${k}]: expected finite coordinates, got ${values[i]} at point ${Math.floor(i / d)}, coordinate ${i % d}`,
        );
      }
    }
  });
  return sets;
}

/** Checks that the two collections have the same dimensionality (and, if asked, equal sizes). */
export function checkComparable(
  generated: PointClouds,
  reference: PointClouds,
  { equalSizes = false, reason = '' }: { equalSizes?: boolean; reason?: string } = {},
): void {
  const dGen = checkPointCloudShapes(generated, 'generated');
  const dRef = checkPointCloudShapes(reference, 'reference');
  if (dGen !== dRef) {
    throw new ShapeError(
      `reference: expected clouds of dimension D = ${dGen} like generated, got D = ${dRef}`,
    );
  }
  if (!equalSizes) return;
  const sizes = (clouds: PointClouds): number[] =>
    isTensor(clouds) ? [clouds.shape[1] as number] : (clouds as readonly HostSet[]).map((s) => s.n);
  const all = [
    ...sizes(generated).map((n) => ['generated', n] as const),
    ...sizes(reference).map((n) => ['reference', n] as const),
  ];
  const [firstName, first] = all[0];
  for (const [which, n] of all) {
    if (n !== first) {
      throw new ShapeError(
        `${which}: expected every cloud to have N = ${first} points like ${firstName}${reason}, got a cloud with N = ${n}`,
      );
    }
  }
}
