import type { TopLevelSpec } from 'vega-lite';
import { round6 } from './format.js';
import { type Bounds, boundsOf, coordinate, type Points, pointCount } from './points.js';
import { categoryScheme, topLevel } from './theme.js';

/** An axis-aligned box in data coordinates, e.g. a digit's bounding box. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Coloured like the point category of the same name (and listed in the legend). */
  category?: string | number;
}

export interface PointSetGridOptions {
  title?: string;
  /** Panels per row. Default: ceil(sqrt(count)). */
  columns?: number;
  /** Width of each panel in pixels (the height follows the data's aspect). Default 112. */
  panelSize?: number;
  /** Data range shown in every panel. Default: a square around all the sets, padded 5 %. */
  bounds?: Bounds;
  /** Which coordinates are drawn as (horizontal, vertical). Default [0, 1]. */
  axes?: readonly [number, number];
  /** true: larger vertical values are drawn lower (image rows). Default false (y up). */
  yDown?: boolean;
  /** One caption per panel (shown above it). */
  captions?: readonly string[];
  /** Point area in px², one for all or one per set. Default: from the panel size and the set's size. */
  pointSize?: number | readonly number[];
  /** Colour when points are not coloured by data. Default near-black. */
  color?: string;
  /** One group per set (e.g. 'input' / 'reconstruction', a class): colour and legend per group. */
  groups?: readonly (string | number)[];
  /** One category per point of each set (a class, an owner index): categorical colours and legend. */
  categories?: readonly ArrayLike<number | string>[];
  /** All categories or groups in legend order (default: categories that occur, sorted; groups in order of appearance). */
  categoryDomain?: readonly (number | string)[];
  /** One scalar per point of each set (e.g. an attention weight): viridis and a gradient legend. */
  values?: readonly ArrayLike<number>[];
  /** Colours of the groups or categories in domain order (default: Tableau's categorical scheme). */
  colorRange?: readonly string[];
  /** Legend title of `groups`, `categories` or `values`. */
  colorTitle?: string;
  /** Pairs of point indices per set drawn as thin grey lines (e.g. bonds). */
  segments?: readonly (readonly (readonly [number, number])[])[];
  /** Boxes per set, outlined. */
  boxes?: readonly (readonly Box[])[];
  /** Show axes with ticks on every panel (default false: a frame only). */
  showAxes?: boolean;
  /** Where the legend goes. Default 'right'. */
  legendOrient?: 'right' | 'bottom' | 'top' | 'left';
}

/** Default point area: about 1.5 % of the panel's area shared among the points, within [1.5, 30] px². */
function autoSize(n: number, panelSize: number): number {
  return Math.min(30, Math.max(1.5, (0.06 * panelSize * panelSize) / Math.max(1, n)));
}

function checkPerSet(name: string, list: { length: number } | undefined, count: number): void {
  if (list && list.length !== count)
    throw new RangeError(`pointSetGrid: ${name} has ${list.length} entries for ${count} sets`);
}

/**
 * Point sets as a grid of scatter panels (a Vega-Lite facet) with equal aspect: every panel
 * shows the same data range, a unit in x as long as a unit in y. Colour by group (per set),
 * category or value (per point); optional segments and boxes per set.
 */
export function pointSetGrid(sets: readonly Points[], options: PointSetGridOptions = {}): TopLevelSpec {
  const count = sets.length;
  if (count === 0) throw new RangeError('pointSetGrid: expected at least one set');
  for (const [name, list] of [
    ['captions', options.captions],
    ['groups', options.groups],
    ['categories', options.categories],
    ['values', options.values],
    ['segments', options.segments],
    ['boxes', options.boxes],
  ] as const) {
    checkPerSet(name, list, count);
  }
  if (Array.isArray(options.pointSize)) checkPerSet('pointSize', options.pointSize, count);
  const axes = options.axes ?? [0, 1];
  const bounds = options.bounds ?? boundsOf(sets, axes);
  const [[x0, x1], [y0, y1]] = bounds;
  const panelSize = options.panelSize ?? 112;
  const height = Math.round((panelSize * (y1 - y0)) / (x1 - x0));
  const columns = options.columns ?? Math.max(1, Math.ceil(Math.sqrt(count)));
  const sizes = sets.map((s, k) => {
    const p = options.pointSize;
    return typeof p === 'number' ? p : p ? p[k] : autoSize(pointCount(s), panelSize);
  });
  const sameSize = sizes.every((s) => s === sizes[0]);

  const colorBy = options.values
    ? 'value'
    : options.categories
      ? 'category'
      : options.groups
        ? 'group'
        : null;
  const points: Record<string, unknown>[] = [];
  const lines: Record<string, unknown>[] = [];
  const rects: Record<string, unknown>[] = [];
  sets.forEach((set, k) => {
    const n = pointCount(set);
    for (const [name, list] of [
      ['categories', options.categories?.[k]],
      ['values', options.values?.[k]],
    ] as const) {
      if (list && list.length !== n) {
        throw new RangeError(`pointSetGrid: ${name}[${k}] has ${list.length} entries for ${n} points`);
      }
    }
    const at = (i: number) => [round6(coordinate(set, i, axes[0])), round6(coordinate(set, i, axes[1]))];
    for (let i = 0; i < n; i++) {
      const [x, y] = at(i);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const row: Record<string, unknown> = { panel: k, x, y };
      if (colorBy === 'value') row.c = round6(options.values![k][i]);
      else if (colorBy === 'category') row.c = options.categories![k][i];
      else if (colorBy === 'group') row.c = options.groups![k];
      if (!sameSize) row.s = sizes[k];
      points.push(row);
    }
    for (const [i, j] of options.segments?.[k] ?? []) {
      const [[ax, ay], [bx, by]] = [at(i), at(j)];
      lines.push({ panel: k, x: ax, y: ay, x2: bx, y2: by });
    }
    for (const b of options.boxes?.[k] ?? []) {
      rects.push({ panel: k, x: b.x0, y: b.y0, x2: b.x1, y2: b.y1, c: b.category ?? null });
    }
  });

  const axis = options.showAxes ? { tickCount: 3, grid: false } : null;
  const x = {
    field: 'x',
    type: 'quantitative',
    title: null,
    axis,
    scale: { domain: [x0, x1], nice: false, zero: false },
  };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: null,
    axis,
    scale: { domain: [y0, y1], nice: false, zero: false, reverse: options.yDown ?? false },
  };
  const orient = options.legendOrient ?? 'right';
  const legend = {
    orient,
    title: options.colorTitle ?? null,
    symbolLimit: 0, // every category listed (Vega's default stops at 30)
    titleLimit: 0,
    // Below or above the grid: as many symbol columns as fit its width, compact.
    ...(orient === 'bottom' || orient === 'top'
      ? {
          columns: Math.max(2, Math.floor((Math.min(columns, count) * panelSize) / 30)),
          columnPadding: 4,
          rowPadding: 1,
          symbolSize: 40,
          labelFontSize: 9,
        }
      : {}),
  };
  const categoryDomain =
    options.categoryDomain ??
    [
      ...new Set(
        [...points.map((p) => p.c), ...rects.map((r) => r.c)].filter((c) => c !== null && c !== undefined),
      ),
    ].sort((a, b) =>
      typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
    );
  const nominalScale = (domain: readonly unknown[]) => ({
    domain,
    ...(options.colorRange ? { range: [...options.colorRange] } : { scheme: categoryScheme(domain.length) }),
  });
  const color =
    colorBy === 'value'
      ? { field: 'c', type: 'quantitative', scale: { scheme: 'viridis' }, legend }
      : colorBy === 'group'
        ? {
            field: 'c',
            type: 'nominal',
            scale: nominalScale(options.categoryDomain ?? [...new Set(options.groups)]),
            legend,
          }
        : { field: 'c', type: 'nominal', scale: nominalScale(categoryDomain), legend };
  const only = (kind: string) => ({ filter: `datum.kind === '${kind}'` });

  // Each panel's frame is drawn from one 'panel' row per set: a panel stays for a set with no
  // points (a facet has a cell only where there are rows).
  const layer: Record<string, unknown>[] = [
    {
      transform: [only('panel')],
      mark: { type: 'rect', filled: false, color: '#d0d0d0', strokeWidth: 1 },
      encoding: { x, y, x2: { field: 'x2' }, y2: { field: 'y2' } },
    },
  ];
  if (lines.length > 0) {
    layer.push({
      transform: [only('segment')],
      mark: { type: 'rule', color: '#b4b4b4', strokeWidth: 1, clip: true },
      encoding: { x, y, x2: { field: 'x2' }, y2: { field: 'y2' } },
    });
  }
  layer.push({
    transform: [only('point')],
    mark: {
      type: 'circle',
      opacity: 0.9,
      clip: true,
      color: options.color ?? '#222222',
      ...(sameSize ? { size: sizes[0] } : {}),
    },
    encoding: {
      x,
      y,
      ...(colorBy ? { color } : {}),
      ...(sameSize ? {} : { size: { field: 's', type: 'quantitative', scale: null } }),
    },
  });
  if (rects.length > 0) {
    layer.push({
      transform: [only('box')],
      mark: { type: 'rect', filled: false, strokeWidth: 1.2, clip: true, color: '#222222' },
      encoding: {
        x,
        y,
        x2: { field: 'x2' },
        y2: { field: 'y2' },
        ...(rects.some((r) => r.c !== null) && colorBy !== 'value'
          ? { color: { ...color, type: 'nominal' } }
          : {}),
      },
    });
  }

  const captions = options.captions;
  const tag = (rows: Record<string, unknown>[], kind: string) => rows.map((r) => ({ kind, ...r }));
  return topLevel(
    {
      data: {
        values: [
          ...sets.map((_, k) => ({ kind: 'panel', panel: k, x: x0, y: y0, x2: x1, y2: y1 })),
          ...tag(lines, 'segment'),
          ...tag(points, 'point'),
          ...tag(rects, 'box'),
        ],
      },
      facet: {
        field: 'panel',
        type: 'ordinal',
        title: null,
        // Captions by panel index (an inline array, so equal captions never merge panels).
        header: captions
          ? { labelExpr: `${JSON.stringify(captions)}[datum.value]`, labelFontSize: 10, labelPadding: 2 }
          : { labelExpr: "''", labelFontSize: 0, labelPadding: 0 }, // (`labels: false` is ignored in wrapped facets)
      },
      columns,
      spec: { width: panelSize, height, view: { stroke: null }, layer },
      resolve: { axis: { x: 'independent', y: 'independent' } },
    },
    options.title,
  );
}
