import type { Color } from './canvas.js';

// Anchor colours of matplotlib's viridis (t = 0, 0.25, 0.5, 0.75, 1), linearly interpolated.
const VIRIDIS: Color[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Viridis-like colour for `t` in [0, 1] (clamped; NaN → grey). */
export function viridis(t: number): Color {
  if (Number.isNaN(t)) return [128, 128, 128];
  const s = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(s));
  const f = s - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as unknown as Color;
}

/** Ten distinguishable colours (matplotlib "tab10") for categories, cycled. */
export const CATEGORY_COLORS: readonly Color[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/** The colour of category `k`. */
export function categoryColor(k: number): Color {
  return CATEGORY_COLORS[((k % CATEGORY_COLORS.length) + CATEGORY_COLORS.length) % CATEGORY_COLORS.length];
}
