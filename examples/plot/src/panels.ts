import { BLACK, Canvas, type Color, GREY, WHITE } from './canvas.js';
import { viridis } from './colormap.js';

/** A rectangle of the canvas in pixels. */
export interface Panel {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Data-space bounds of a panel: `[[xmin, xmax], [ymin, ymax]]`. */
export type Bounds = readonly [readonly [number, number], readonly [number, number]];

/** Points as `{ values, n, d }` row-major (a `HostSet` fits) or an array of coordinate rows. */
export type Points = { values: ArrayLike<number>; n: number; d: number } | readonly (readonly number[])[];

export interface GridOptions {
  /** Panels per row. Default: ceil(sqrt(count)). */
  columns?: number;
  /** Side of each square panel in pixels. Default 128. */
  panelSize?: number;
  /** Gap between panels and around the grid in pixels. Default 4. */
  gap?: number;
  /** Page colour. Default white. */
  background?: Color;
  /** Panel frame colour, or null for none. Default light grey. */
  frame?: Color | null;
}

/** A canvas split into a grid of `count` square panels (row-major order). */
export function panelGrid(count: number, options: GridOptions = {}): { canvas: Canvas; panels: Panel[] } {
  const columns = options.columns ?? Math.max(1, Math.ceil(Math.sqrt(count)));
  const size = options.panelSize ?? 128;
  const gap = options.gap ?? 4;
  const rows = Math.max(1, Math.ceil(count / columns));
  const canvas = new Canvas(
    gap + columns * (size + gap),
    gap + rows * (size + gap),
    options.background ?? WHITE,
  );
  const panels: Panel[] = [];
  for (let k = 0; k < count; k++) {
    const panel = {
      x: gap + (k % columns) * (size + gap),
      y: gap + Math.floor(k / columns) * (size + gap),
      width: size,
      height: size,
    };
    const frame = options.frame === undefined ? GREY : options.frame;
    if (frame) canvas.strokeRect(panel.x, panel.y, panel.width - 1, panel.height - 1, frame);
    panels.push(panel);
  }
  return { canvas, panels };
}

/** Reads point `i`, coordinate `c`. */
function coordinate(points: Points, i: number, c: number): number {
  return isRows(points) ? points[i][c] : points.values[i * points.d + c];
}

/** Number of points. */
export function pointCount(points: Points): number {
  return isRows(points) ? points.length : points.n;
}

function isRows(points: Points): points is readonly (readonly number[])[] {
  return Array.isArray(points);
}

export interface PointStyle {
  /** Data bounds mapped onto the panel. Default: the points' own bounding box (square, padded 5%). */
  bounds?: Bounds;
  /** Which coordinates are drawn as (horizontal, vertical). Default [0, 1]. */
  axes?: readonly [number, number];
  /** true: larger vertical values are drawn lower (image rows). Default false (y up). */
  yDown?: boolean;
  /** Disc radius in pixels. Default 1.5. */
  radius?: number;
  /** One colour for all points. Default black. */
  color?: Color;
  /** A colour per point (overrides `color`), e.g. from `values` below. */
  colors?: readonly Color[];
  /** A scalar per point (e.g. attention), coloured with viridis over [min, max] of the values. */
  values?: ArrayLike<number>;
  /** Opacity in [0, 1]. Default 1. */
  alpha?: number;
}

/** Square bounds around the points' coordinates on `axes`, padded by 5%. */
export function boundsOf(points: Points, axes: readonly [number, number] = [0, 1]): Bounds {
  let lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  let hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < pointCount(points); i++) {
    for (let a = 0; a < 2; a++) {
      const v = coordinate(points, i, axes[a]);
      if (!Number.isFinite(v)) continue;
      lo[a] = Math.min(lo[a], v);
      hi[a] = Math.max(hi[a], v);
    }
  }
  if (!Number.isFinite(lo[0])) {
    lo = [0, 0];
    hi = [1, 1];
  }
  const half = (Math.max(hi[0] - lo[0], hi[1] - lo[1]) / 2) * 1.05 || 1;
  const cx = (lo[0] + hi[0]) / 2;
  const cy = (lo[1] + hi[1]) / 2;
  return [
    [cx - half, cx + half],
    [cy - half, cy + half],
  ];
}

/** Maps a data point to pixel coordinates of a panel. */
export function toPixel(panel: Panel, bounds: Bounds, x: number, y: number, yDown = false): [number, number] {
  const [[x0, x1], [y0, y1]] = bounds;
  const u = (x - x0) / (x1 - x0 || 1);
  const v = (y - y0) / (y1 - y0 || 1);
  return [panel.x + u * (panel.width - 1), panel.y + (yDown ? v : 1 - v) * (panel.height - 1)];
}

/** Draws a point set (scatter) into a panel; colour per point via `colors` or `values`. */
export function drawPoints(canvas: Canvas, panel: Panel, points: Points, style: PointStyle = {}): void {
  const axes = style.axes ?? [0, 1];
  const bounds = style.bounds ?? boundsOf(points, axes);
  const n = pointCount(points);
  let colors = style.colors;
  if (!colors && style.values) {
    const vals = Array.from(style.values);
    const lo = Math.min(...vals);
    const span = Math.max(...vals) - lo || 1;
    colors = vals.map((v) => viridis((v - lo) / span));
  }
  canvas.clipped(panel, () => {
    for (let i = 0; i < n; i++) {
      const x = coordinate(points, i, axes[0]);
      const y = coordinate(points, i, axes[1]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const [px, py] = toPixel(panel, bounds, x, y, style.yDown);
      canvas.fillCircle(px, py, style.radius ?? 1.5, colors?.[i] ?? style.color ?? BLACK, style.alpha ?? 1);
    }
  });
}

/** Draws an axis-aligned box given in data coordinates `[xmin, ymin, xmax, ymax]`. */
export function drawBox(
  canvas: Canvas,
  panel: Panel,
  box: readonly [number, number, number, number],
  style: { bounds: Bounds; yDown?: boolean; color?: Color },
): void {
  const [ax, ay] = toPixel(panel, style.bounds, box[0], box[1], style.yDown);
  const [bx, by] = toPixel(panel, style.bounds, box[2], box[3], style.yDown);
  canvas.clipped(panel, () => {
    canvas.strokeRect(
      Math.min(ax, bx),
      Math.min(ay, by),
      Math.abs(bx - ax),
      Math.abs(by - ay),
      style.color ?? BLACK,
    );
  });
}

export interface CurveSeries {
  values: ArrayLike<number>;
  color?: Color;
}

/** Draws line curves (e.g. loss per step) into a panel, sharing one y range; `logY` plots log10. */
export function drawCurves(
  canvas: Canvas,
  panel: Panel,
  series: readonly CurveSeries[],
  options: { logY?: boolean } = {},
): void {
  const transform = (v: number) => (options.logY ? Math.log10(v) : v);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let longest = 1;
  for (const s of series) {
    longest = Math.max(longest, s.values.length);
    for (let i = 0; i < s.values.length; i++) {
      const v = transform(s.values[i]);
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  if (!Number.isFinite(lo)) return;
  const pad = (hi - lo) * 0.05 || 1;
  const bounds: Bounds = [
    [0, Math.max(1, longest - 1)],
    [lo - pad, hi + pad],
  ];
  const drawSeries = (s: CurveSeries, k: number) => {
    const color = s.color ?? viridis(series.length > 1 ? k / (series.length - 1) : 0);
    let previous: [number, number] | null = null;
    for (let i = 0; i < s.values.length; i++) {
      const v = transform(s.values[i]);
      if (!Number.isFinite(v)) {
        previous = null;
        continue;
      }
      const p = toPixel(panel, bounds, i, v);
      if (previous) canvas.drawLine(previous[0], previous[1], p[0], p[1], color);
      else canvas.setPixel(p[0], p[1], color);
      previous = p;
    }
  };
  canvas.clipped(panel, () => {
    series.forEach(drawSeries);
  });
}

/** One grid of point-set panels: the common case of "show me these sets". */
export function plotPointSets(
  sets: readonly Points[],
  options: GridOptions & PointStyle & { styles?: readonly PointStyle[] } = {},
): Canvas {
  const { canvas, panels } = panelGrid(sets.length, options);
  sets.forEach((set, k) => {
    drawPoints(canvas, panels[k], set, { ...options, ...options.styles?.[k] });
  });
  return canvas;
}
