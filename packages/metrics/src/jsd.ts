/**
 * Jensen–Shannon divergence between two collections of 3-D point clouds, as PointFlow reports
 * it (from optas/latent_3d_points; REFERENCES.md §3.7):
 *
 * - grid: R³ cell centres c = i/(R−1) − 0.5 (i = 0..R−1 per axis, rounded to float32), spacing
 *   1/(R−1) over the cube [−0.5, 0.5]³, keeping only centres with ‖c‖ ≤ 0.5 (the "unit sphere"
 *   of the code has radius 0.5: 10144 of 21952 cells for R = 28);
 * - every point of every cloud adds 1 to the count of its nearest retained centre (not the
 *   per-cloud occupancy, which the reference computes and discards); points outside the ball
 *   are snapped to the nearest retained cell, as in the reference (no rescaling: normalise your
 *   clouds first if they are not in the radius-0.5 ball);
 * - P, Q = the two count vectors normalised to sum 1;
 *   JSD(P ‖ Q) = H((P + Q)/2) − (H(P) + H(Q))/2 with log base 2, so JSD ∈ [0, 1].
 *
 * Ties between equidistant centres go to the first centre in C order over (i, j, k).
 */
import { ConfigError, ShapeError } from '@setgen/ops';
import { checkOptions, is } from '@setgen/ops/internal';
import { checkPointCloudShapes, type PointClouds, readPointCloudsSync } from './point-clouds.js';

/** Options of {@link jsdBetweenPointCloudSets}. */
export interface JsdOptions {
  /** Cells per axis; default 28 (PointFlow). */
  resolution?: number;
}

/** The retained cell centres of the grid, in C order over (i, j, k). */
export interface OccupancyGrid {
  resolution: number;
  /** float32-rounded coordinate of index i along each axis. */
  axis: Float64Array;
  /** `cellOf[(i·R + j)·R + k]` = index of that cell among the retained ones, or −1 if clipped. */
  cellOf: Int32Array;
  /** Retained centres, `[cells, 3]`. */
  centres: Float64Array;
}

/** Builds PointFlow's grid of `resolution`³ centres clipped to the radius-0.5 ball. */
export function occupancyGrid(resolution = 28): OccupancyGrid {
  if (!Number.isInteger(resolution) || resolution < 2) {
    throw new ConfigError(`options.resolution: expected an integer ≥ 2, got ${resolution}`);
  }
  const r = resolution;
  const spacing = 1 / (r - 1);
  const axis = Float64Array.from({ length: r }, (_, i) => Math.fround(i * spacing - 0.5));
  const cellOf = new Int32Array(r * r * r).fill(-1);
  const centres: number[] = [];
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      for (let k = 0; k < r; k++) {
        // the reference takes the norm of the float32 centres in float32
        const f = Math.fround;
        const norm = f(Math.sqrt(f(f(f(axis[i] ** 2) + f(axis[j] ** 2)) + f(axis[k] ** 2))));
        if (norm <= 0.5) {
          cellOf[(i * r + j) * r + k] = centres.length / 3;
          centres.push(axis[i], axis[j], axis[k]);
        }
      }
    }
  }
  return { resolution: r, axis, cellOf, centres: Float64Array.from(centres) };
}

// Nearest grid index along one axis (the float32 centres are almost evenly spaced).
function nearestAxisIndex(axis: Float64Array, v: number): number {
  const r = axis.length;
  let i = Math.round((v + 0.5) * (r - 1));
  i = Math.min(r - 1, Math.max(0, i));
  if (i > 0 && Math.abs(v - axis[i - 1]) <= Math.abs(v - axis[i])) i--;
  else if (i < r - 1 && Math.abs(v - axis[i + 1]) < Math.abs(v - axis[i])) i++;
  return i;
}

/** Index of the retained centre nearest to (x, y, z). */
export function nearestCell(grid: OccupancyGrid, x: number, y: number, z: number): number {
  const { axis, resolution: r, cellOf, centres } = grid;
  // the nearest of all centres is separable per axis; if it is retained it is the answer
  const i0 = nearestAxisIndex(axis, x);
  const j0 = nearestAxisIndex(axis, y);
  const k0 = nearestAxisIndex(axis, z);
  const cell = cellOf[(i0 * r + j0) * r + k0];
  if (cell >= 0) return cell;
  // otherwise search shells of growing Chebyshev radius around (i0, j0, k0): a centre m ≥ 1
  // indices away along an axis is at least (m − ½)·spacing away there (i0 is that axis' nearest
  // index); far outside the ball, scan every retained centre instead
  const spacing = (axis[r - 1] - axis[0]) / (r - 1);
  let best = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  const consider = (c: number) => {
    const dx = x - centres[3 * c];
    const dy = y - centres[3 * c + 1];
    const dz = z - centres[3 * c + 2];
    const d = dx * dx + dy * dy + dz * dz;
    // ties go to the first centre in C order, as a full scan would
    if (d < bestDistance || (d === bestDistance && c < best)) {
      bestDistance = d;
      best = c;
    }
  };
  for (let shell = 1; shell <= MAX_SHELL; shell++) {
    for (let i = Math.max(0, i0 - shell); i <= Math.min(r - 1, i0 + shell); i++) {
      for (let j = Math.max(0, j0 - shell); j <= Math.min(r - 1, j0 + shell); j++) {
        for (let k = Math.max(0, k0 - shell); k <= Math.min(r - 1, k0 + shell); k++) {
          if (Math.max(Math.abs(i - i0), Math.abs(j - j0), Math.abs(k - k0)) !== shell) continue;
          const c = cellOf[(i * r + j) * r + k];
          if (c >= 0) consider(c);
        }
      }
    }
    const bound = (shell + 0.5) * spacing * (1 - 1e-6);
    if (best >= 0 && bound * bound > bestDistance) return best;
  }
  best = -1;
  bestDistance = Number.POSITIVE_INFINITY;
  for (let c = 0; c < centres.length / 3; c++) consider(c);
  return best;
}

/** Shells searched around a clipped cell before falling back to a full scan. */
const MAX_SHELL = 4;

/** Per-cell point counts of a collection (every point counted). */
export function gridCounts(
  clouds: readonly { values: ArrayLike<number>; n: number }[],
  grid: OccupancyGrid,
): Float64Array {
  const counts = new Float64Array(grid.centres.length / 3);
  for (const { values, n } of clouds) {
    for (let i = 0; i < n; i++)
      counts[nearestCell(grid, values[3 * i], values[3 * i + 1], values[3 * i + 2])]++;
  }
  return counts;
}

function entropyBase2(p: Float64Array): number {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log2(v);
  return h;
}

/** JSD (log base 2) between two count or probability vectors of equal length. */
export function jensenShannonDivergence(countsP: ArrayLike<number>, countsQ: ArrayLike<number>): number {
  if (countsP.length !== countsQ.length) {
    throw new ShapeError(`countsQ: expected length ${countsP.length} like countsP, got ${countsQ.length}`);
  }
  const normalise = (c: ArrayLike<number>) => {
    let sum = 0;
    for (let i = 0; i < c.length; i++) sum += c[i];
    return Float64Array.from(c, (v) => v / sum);
  };
  const p = normalise(countsP);
  const q = normalise(countsQ);
  const m = p.map((v, i) => (v + q[i]) / 2);
  return entropyBase2(m) - (entropyBase2(p) + entropyBase2(q)) / 2;
}

/**
 * JSD between the grid occupancy distributions of two collections of 3-D clouds (see the file
 * comment); 0 for identical distributions, 1 for disjoint ones. Synchronous: tensors are read
 * with `dataSync()`.
 */
export function jsdBetweenPointCloudSets(
  generated: PointClouds,
  reference: PointClouds,
  options: JsdOptions = {},
): number {
  const { resolution = 28 } = checkOptions(options, { resolution: is.integer(2) }, 'options');
  for (const [clouds, name] of [
    [generated, 'generated'],
    [reference, 'reference'],
  ] as const) {
    const d = checkPointCloudShapes(clouds, name);
    if (d !== 3) throw new ShapeError(`${name}: expected 3-D points (D = 3) for the JSD grid, got D = ${d}`);
  }
  const grid = occupancyGrid(resolution);
  const gen = readPointCloudsSync(generated, 'generated');
  const ref = readPointCloudsSync(reference, 'reference');
  return jensenShannonDivergence(gridCounts(gen, grid), gridCounts(ref, grid));
}
