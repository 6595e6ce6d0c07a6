import type { TopLevelSpec } from 'vega-lite';
import { nested, topLevel } from './theme.js';

/**
 * Child `k` nested for a concatenation; a named dataset (e.g. `curves`) of the second child on is
 * renamed `curves_2`, `curves_3` …, since Vega needs unique names (live updates address them so).
 */
function child(spec: TopLevelSpec, k: number): Record<string, unknown> {
  const view = nested(spec);
  const data = view.data as { name?: string } | undefined;
  if (k > 0 && data?.name) view.data = { ...data, name: `${data.name}_${k + 1}` };
  return view;
}

/** Figures side by side (each keeps its own scales and legend), e.g. a loss and its KL. */
export function sideBySide(specs: readonly TopLevelSpec[], options: { title?: string } = {}): TopLevelSpec {
  return topLevel(
    {
      hconcat: specs.map(child),
      resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    },
    options.title,
  );
}

/** Figures one above the other, each with its own scales and legend. */
export function stacked(specs: readonly TopLevelSpec[], options: { title?: string } = {}): TopLevelSpec {
  return topLevel(
    {
      vconcat: specs.map(child),
      resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    },
    options.title,
  );
}
