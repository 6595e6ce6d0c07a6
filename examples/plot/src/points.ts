/** Points as `{ values, n, d }` row-major (a `HostSet` fits) or an array of coordinate rows. */
export type Points = { values: ArrayLike<number>; n: number; d: number } | readonly (readonly number[])[];

/** Data-space bounds `[[xmin, xmax], [ymin, ymax]]`. */
export type Bounds = readonly [readonly [number, number], readonly [number, number]];

function isRows(points: Points): points is readonly (readonly number[])[] {
  return Array.isArray(points);
}

/** Number of points. */
export function pointCount(points: Points): number {
  return isRows(points) ? points.length : (points as { n: number }).n;
}

/** Coordinate `c` of point `i`. */
export function coordinate(points: Points, i: number, c: number): number {
  return isRows(points) ? points[i][c] : points.values[i * points.d + c];
}

/** Square bounds around all the points' coordinates on `axes`, padded by 5 % ([0, 1]² if none is finite). */
export function boundsOf(sets: readonly Points[], axes: readonly [number, number] = [0, 1]): Bounds {
  const lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const points of sets) {
    for (let i = 0; i < pointCount(points); i++) {
      for (let a = 0; a < 2; a++) {
        const v = coordinate(points, i, axes[a]);
        if (!Number.isFinite(v)) continue;
        lo[a] = Math.min(lo[a], v);
        hi[a] = Math.max(hi[a], v);
      }
    }
  }
  if (!Number.isFinite(lo[0]) || !Number.isFinite(lo[1])) {
    return [
      [0, 1],
      [0, 1],
    ];
  }
  const half = (Math.max(hi[0] - lo[0], hi[1] - lo[1]) / 2) * 1.05 || 1;
  const cx = (lo[0] + hi[0]) / 2;
  const cy = (lo[1] + hi[1]) / 2;
  return [
    [cx - half, cx + half],
    [cy - half, cy + half],
  ];
}
