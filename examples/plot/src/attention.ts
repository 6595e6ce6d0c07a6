import type { TopLevelSpec } from 'vega-lite';
import { pointSetGrid } from './point-sets.js';
import type { Bounds, Points } from './points.js';
import { nested, topLevel } from './theme.js';

/** One attention level: for every set, the index of the slot (inducing point, head …) each point goes to. */
export interface AttentionLevel {
  /** Column title and legend title, e.g. 'm = 4'. */
  title: string;
  /** Per set, one slot index per point. */
  owner: readonly ArrayLike<number>[];
  /** Number of slots (the legend lists 0 … count − 1 so colours mean the same in every row). */
  count: number;
}

export interface AttentionGridOptions {
  title?: string;
  panelSize?: number;
  bounds?: Bounds;
  yDown?: boolean;
  /** One caption per set (shown in the first column). */
  captions?: readonly string[];
  pointSize?: number;
  /** Legend title (under each column, whose title names the level). Default 'slot'. */
  slotName?: string;
}

/**
 * Attention colouring: one column per level (e.g. SetVAE's encoder levels, coarse → fine), one
 * row per set; each point coloured by the slot that attends to it most, with a legend per level.
 */
export function attentionGrid(
  sets: readonly Points[],
  levels: readonly AttentionLevel[],
  options: AttentionGridOptions = {},
): TopLevelSpec {
  if (levels.length === 0) throw new RangeError('attentionGrid: expected at least one level');
  const columns = levels.map((level, l) =>
    nested(
      pointSetGrid(sets, {
        title: level.title,
        columns: 1,
        panelSize: options.panelSize,
        bounds: options.bounds,
        yDown: options.yDown,
        pointSize: options.pointSize,
        // Captions on the first column; blank ones elsewhere keep the rows aligned.
        captions: l === 0 || !options.captions ? options.captions : options.captions.map(() => ''),
        categories: level.owner,
        categoryDomain: Array.from({ length: level.count }, (_, i) => i),
        colorTitle: options.slotName ?? 'slot', // the column title names the level
        legendOrient: 'bottom',
      }),
    ),
  );
  return topLevel(
    { hconcat: columns, resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } } },
    options.title,
  );
}
