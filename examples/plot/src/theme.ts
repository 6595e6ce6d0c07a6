import type { Config, TopLevelSpec } from 'vega-lite';

/** Vega-Lite's schema for the specs we write (kept in each `*.vl.json`). */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Our figure style: a font that exists on Debian (DejaVu) with common fallbacks, light frames and
 * grids, white background. Every builder puts it in the spec's `config`, so a user restyles there.
 */
export const FIGURE_CONFIG: Config = {
  font: 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif',
  background: 'white',
  aria: false, // no ARIA label per point: SVG files a third of the size
  view: { stroke: '#d0d0d0' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#ececec' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 260 },
  header: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, fontWeight: 'normal', anchor: 'start' },
  facet: { spacing: 6 },
  concat: { spacing: 16 },
};

/** The colours of a categorical scale with `count` categories (repeats only beyond 20). */
export function categoryScheme(count: number): string {
  return count <= 10 ? 'tableau10' : 'tableau20';
}

/** Wraps a view spec as a complete top-level spec: schema, our config, optional title. */
export function topLevel(spec: Record<string, unknown>, title?: string): TopLevelSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(title ? { title } : {}),
    ...spec,
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}

/** A top-level spec without its top-level-only keys, to nest inside a concatenation. */
export function nested(spec: TopLevelSpec): Record<string, unknown> {
  const {
    $schema: _schema,
    config: _config,
    background: _bg,
    padding: _pad,
    autosize: _auto,
    ...rest
  } = spec as unknown as Record<string, unknown>;
  return rest;
}
