// Node only: SVG → PNG with resvg (Rust, prebuilt binary from the npm registry) and writing files.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './render.js';

export interface PngOptions {
  /** Pixels per SVG unit. Default 2 (crisp on screens and in print). */
  scale?: number;
}

/** Fonts resvg tries for Vega's `font` list when it names none that is installed. */
const FALLBACK_FONT = 'DejaVu Sans';

/** Rasterises an SVG document to PNG bytes. Text needs a system font (Debian: fonts-dejavu-core). */
export function svgToPng(svg: string, options: PngOptions = {}): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    font: { loadSystemFonts: true, defaultFontFamily: FALLBACK_FONT, sansSerifFamily: FALLBACK_FONT },
  });
  return resvg.render().asPng();
}

/** The files `saveFigure` wrote. */
export interface FigureFiles {
  svg: string;
  png: string;
  spec: string;
}

/**
 * Renders `spec` and writes `<base>.svg`, `<base>.png` and `<base>.vl.json` (the Vega-Lite spec,
 * to restyle or re-render) side by side, creating directories. `path` may end in .png or .svg.
 */
export async function saveFigure(
  path: string,
  spec: TopLevelSpec,
  options: PngOptions = {},
): Promise<FigureFiles> {
  const ext = extname(path);
  const base = ext === '.png' || ext === '.svg' ? path.slice(0, -ext.length) : path;
  const files = { svg: `${base}.svg`, png: `${base}.png`, spec: `${base}.vl.json` };
  const svg = await renderSvg(spec);
  await mkdir(dirname(base), { recursive: true });
  await Promise.all([
    writeFile(files.spec, `${JSON.stringify(spec)}\n`),
    writeFile(files.svg, svg),
    writeFile(files.png, svgToPng(svg, options)),
  ]);
  return files;
}
