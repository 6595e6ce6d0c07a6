// Rendering a spec with Vega (works in Node and in the browser): Vega-Lite → Vega → SVG text.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The Vega spec a Vega-Lite spec compiles to (what `vega.View` runs). */
export function toVega(spec: TopLevelSpec) {
  return compile(spec).spec;
}

/** Renders a spec to an SVG document (headless Vega view, no DOM needed). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(toVega(spec)), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
