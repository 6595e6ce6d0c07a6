import type { TopLevelSpec } from 'vega-lite';
import { round6 } from './format.js';
import { categoryScheme, topLevel } from './theme.js';

/** A named sample of values (one colour in the histogram). */
export interface HistogramGroup {
  name: string;
  values: ArrayLike<number>;
}

export interface HistogramOptions {
  title?: string;
  /** The quantity counted, e.g. 'set size' or 'valency'. Default 'value'. */
  xTitle?: string;
  /** Default 'count' ('fraction' with `normalize`). */
  yTitle?: string;
  /**
   * One bar per integer value (valencies, corner counts) instead of bins. Default: when all values
   * are integers spanning at most 40 values.
   */
  discrete?: boolean;
  /** About this many bins in a continuous histogram (Vega-Lite rounds to nice edges, so ± 1–2). Default 30. */
  maxBins?: number;
  /** Fractions of each group instead of counts, so groups of different sizes compare. */
  normalize?: boolean;
  width?: number;
  height?: number;
}

/**
 * A histogram of one sample or several (grouped bars when discrete, overlaid translucent bins
 * when continuous), counted by Vega-Lite from the raw values kept in the spec.
 */
export function histogram(
  data: ArrayLike<number> | readonly HistogramGroup[],
  options: HistogramOptions = {},
): TopLevelSpec {
  const groups: readonly HistogramGroup[] = isGroups(data) ? data : [{ name: '', values: data }];
  const rows: { group: string; value: number }[] = [];
  for (const g of groups) {
    for (let i = 0; i < g.values.length; i++) {
      if (Number.isFinite(g.values[i])) rows.push({ group: g.name, value: round6(g.values[i]) });
    }
  }
  const values = rows.map((r) => r.value);
  const integers = values.every(Number.isInteger);
  const discrete =
    options.discrete ?? (integers && values.length > 0 && Math.max(...values) - Math.min(...values) <= 40);
  const several = groups.length > 1;
  const color = several
    ? {
        field: 'group',
        type: 'nominal',
        title: null,
        scale: { domain: groups.map((g) => g.name), scheme: categoryScheme(groups.length) },
      }
    : { value: '#4c78a8' };
  const yTitle = options.yTitle ?? (options.normalize ? 'fraction' : 'count');
  const y = options.normalize
    ? { field: 'fraction', type: 'quantitative', title: yTitle, axis: { format: '.0%' } }
    : { field: 'count', type: 'quantitative', title: yTitle };
  const xTitle = options.xTitle ?? 'value';
  // Count per (group, value or bin) and, for fractions, divide by the group's size.
  const binning = discrete ? [] : [{ bin: { maxbins: options.maxBins ?? 30 }, field: 'value', as: 'bin' }];
  const key = discrete ? 'value' : 'bin';
  const transform = [
    ...binning,
    {
      aggregate: [{ op: 'count', as: 'count' }],
      groupby: discrete ? ['group', 'value'] : ['group', 'bin', 'bin_end'],
    },
    { joinaggregate: [{ op: 'sum', field: 'count', as: 'total' }], groupby: ['group'] },
    { calculate: 'datum.count / datum.total', as: 'fraction' },
  ];
  const x = discrete
    ? { field: key, type: 'ordinal', title: xTitle, axis: { labelAngle: 0 } }
    : { field: 'bin', type: 'quantitative', title: xTitle, bin: { binned: true } };
  return topLevel(
    {
      width: options.width ?? 360,
      height: options.height ?? 200,
      data: { values: rows },
      transform,
      mark: discrete ? { type: 'bar' } : { type: 'bar', opacity: several ? 0.55 : 1, binSpacing: 0 },
      encoding: {
        x,
        ...(discrete ? {} : { x2: { field: 'bin_end' } }),
        y: { ...y, ...(discrete ? {} : { stack: null }) },
        color,
        ...(discrete && several
          ? { xOffset: { field: 'group', scale: { domain: groups.map((g) => g.name) } } }
          : {}),
      },
    },
    options.title,
  );
}

function isGroups(data: ArrayLike<number> | readonly HistogramGroup[]): data is readonly HistogramGroup[] {
  return (
    data.length > 0 && typeof data[0] === 'object' && data[0] !== null && 'values' in (data[0] as object)
  );
}
