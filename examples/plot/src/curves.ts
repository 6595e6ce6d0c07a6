import type { TopLevelSpec } from 'vega-lite';
import { formatValue, round6 } from './format.js';
import { autoSmoothing, emaSmooth } from './smoothing.js';
import { categoryScheme, topLevel } from './theme.js';

/** One curve: a value per step (`steps` defaults to 1, 2, … n). */
export interface CurveSeries {
  name: string;
  values: ArrayLike<number>;
  steps?: ArrayLike<number>;
}

export interface CurveOptions {
  title?: string;
  /** Default 'step'. */
  xTitle?: string;
  /** Default: the series' name when there is one series, else 'value'. */
  yTitle?: string;
  /** Log-scaled y axis; values ≤ 0 are left out (they have no place on it). */
  logY?: boolean;
  /** Fixed y range, e.g. [0, 100] for a percentage. */
  yDomain?: readonly [number, number];
  /**
   * EMA weight of the smoothed line (trainingCurves only): 0 = a line through the raw values,
   * 'auto' (default) = none up to 64 steps, else an
   * average over about the last n / 50 steps. See `emaSmooth`.
   */
  smoothing?: number | 'auto';
  /** Plot size in pixels. Defaults 360 × 220. */
  width?: number;
  height?: number;
}

/** One row of a curve's data (kept in the spec's dataset named `curves`). */
export interface CurveRow {
  /** Legend entry: the series' name and its final (smoothed) value. */
  label: string;
  /** Index of the series (legend order). */
  series: number;
  step: number;
  value: number;
  /** The smoothed value (the value itself when smoothing is 0; absent when ≤ 0 on a log scale). */
  smooth?: number;
}

/** Name of the dataset in curve specs, for live updates: `view.data(CURVES_DATA, rows)`. */
export const CURVES_DATA = 'curves';

/**
 * The rows of a curve spec (the smoothed value and the legend label with the final value
 * computed here); a browser updates a live chart with `view.data(CURVES_DATA, curveRows(…))`.
 */
export function curveRows(series: readonly CurveSeries[], options: CurveOptions = {}): CurveRow[] {
  const rows: CurveRow[] = [];
  series.forEach((s, k) => {
    if (s.steps && s.steps.length !== s.values.length) {
      throw new RangeError(`curve '${s.name}': ${s.steps.length} steps for ${s.values.length} values`);
    }
    const n = s.values.length;
    const weight =
      options.smoothing === 'auto' || options.smoothing === undefined ? autoSmoothing(n) : options.smoothing;
    // Weight 0 (short runs): the line goes through the raw values.
    const smooth = emaSmooth(s.values, weight);
    let final = Number.NaN;
    for (let i = n - 1; i >= 0 && Number.isNaN(final); i--) {
      const v = smooth[i];
      if (Number.isFinite(v)) final = v;
    }
    const label = Number.isFinite(final) ? `${s.name} · final ${formatValue(final)}` : s.name;
    for (let i = 0; i < n; i++) {
      const value = s.values[i];
      if (!Number.isFinite(value) || (options.logY && value <= 0)) continue;
      const row: CurveRow = { label, series: k, step: s.steps ? s.steps[i] : i + 1, value: round6(value) };
      if (!(options.logY && smooth[i] <= 0)) row.smooth = round6(smooth[i]);
      rows.push(row);
    }
  });
  return rows;
}

function curveSpec(
  series: readonly CurveSeries[],
  options: CurveOptions,
  layers: (y: Record<string, unknown>, color: Record<string, unknown>) => Record<string, unknown>[],
): TopLevelSpec {
  if (series.length === 0) throw new RangeError('curves: expected at least one series');
  const rows = curveRows(series, options);
  const yTitle = options.yTitle ?? (series.length === 1 ? series[0].name : 'value');
  const y = {
    type: 'quantitative',
    title: options.logY ? `${yTitle} (log scale)` : yTitle,
    scale: {
      ...(options.logY ? { type: 'log' } : { zero: false }),
      ...(options.yDomain ? { domain: [...options.yDomain] } : {}),
    },
  };
  const color = {
    field: 'label',
    type: 'nominal',
    title: null,
    // Legend in series order; no fixed domain, so live updates (new final values) recolour.
    sort: { field: 'series', op: 'min' },
    scale: { scheme: categoryScheme(series.length) },
    // Above the plot (figures side by side stay compact), drawn as lines whatever the layer.
    legend: {
      orient: 'top',
      direction: 'vertical',
      symbolType: 'stroke',
      symbolOpacity: 1,
      symbolStrokeWidth: 2,
    },
  };
  return topLevel(
    {
      width: options.width ?? 360,
      height: options.height ?? 220,
      data: { name: CURVES_DATA, values: rows },
      encoding: { x: { field: 'step', type: 'quantitative', title: options.xTitle ?? 'step' } },
      layer: layers(y, color),
    },
    options.title,
  );
}

/**
 * Training curves (a loss per step): the raw values as faint points, an EMA-smoothed line over
 * them, the final smoothed value in the legend; `logY` for losses that fall over decades.
 */
export function trainingCurves(series: readonly CurveSeries[], options: CurveOptions = {}): TopLevelSpec {
  return curveSpec(series, options, (y, color) => [
    {
      mark: { type: 'point', filled: true, size: 8, opacity: 0.18, clip: true },
      encoding: { y: { ...y, field: 'value' }, color },
    },
    {
      mark: { type: 'line', strokeWidth: 2.2, clip: true },
      transform: [{ filter: 'isValid(datum.smooth)' }],
      encoding: { y: { ...y, field: 'smooth' }, color },
    },
  ]);
}

/** Metric curves (a metric evaluated now and then): a line through the measured points, final value in the legend. */
export function metricCurves(series: readonly CurveSeries[], options: CurveOptions = {}): TopLevelSpec {
  return curveSpec(series, { ...options, smoothing: 0 }, (y, color) => [
    {
      mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 1.5, clip: true },
      encoding: { y: { ...y, field: 'value' }, color },
    },
  ]);
}
