// The same specs in headless Chromium (Debian's `chromium`, driven by playwright-core; .ci/run
// installs it): the module's browser-safe entry is bundled with vite (so it must not pull in
// Node), the page builds specs, renders them with Vega to SVG and into a live DOM view, and we
// compare what was drawn with Node's rendering of the same specs.
import { resolve } from 'node:path';
import { describeInBrowser, withChromiumPage } from '@setgen/testkit/browser';
import { build, type Rollup } from 'vite';
import { expect, it } from 'vitest';
import { markCounts, pointSetGrid, renderSvg, svgTexts, trainingCurves } from './index.js';

describeInBrowser('@setgen/example-plot in Chromium', () => {
  it('the builders and Vega bundle for the browser, where the same specs draw the same marks', async () => {
    const bundle = (await build({
      configFile: false,
      logLevel: 'error',
      build: {
        lib: { entry: resolve(import.meta.dirname, '../browser/entry.ts'), formats: ['iife'], name: 'plot' },
        write: false,
        minify: false,
      },
    })) as Rollup.RollupOutput[] | Rollup.RollupOutput;
    const code = (Array.isArray(bundle) ? bundle[0] : bundle).output[0].code;
    expect(code).not.toMatch(/resvg|node:fs/);

    // Node's rendering of the specs the page will build.
    const loss = Array.from({ length: 40 }, (_, i) => 1 / (1 + i));
    const sets = [
      [
        [0.1, 0.2],
        [0.5, 0.5],
      ],
      [[0.9, 0.9]],
    ];
    const nodeCurves = await renderSvg(trainingCurves([{ name: 'loss', values: loss }], { logY: true }));
    const nodeGrid = await renderSvg(pointSetGrid(sets, { captions: ['a', 'b'] }));

    await withChromiumPage(async (page, errors) => {
      await page.setContent('<!doctype html><html><body><div id="live"></div></body></html>');
      await page.addScriptTag({ content: code });
      const result = await page.evaluate(
        async ({ loss, sets }) => {
          const plot = (window as any).plot;
          const curves = plot.trainingCurves([{ name: 'loss', values: loss }], { logY: true });
          const grid = plot.pointSetGrid(sets, { captions: ['a', 'b'] });
          const view = new plot.View(plot.parse(plot.toVega(curves)), {
            renderer: 'svg',
            container: '#live',
          });
          await view.runAsync();
          return {
            curvesSvg: await plot.renderSvg(curves),
            gridSvg: await plot.renderSvg(grid),
            livePoints: document.querySelectorAll('#live .mark-symbol.role-mark path').length,
            liveTexts: Array.from(document.querySelectorAll('#live text'), (t) => t.textContent),
          };
        },
        { loss, sets },
      );
      expect(errors).toEqual([]);
      expect(markCounts(result.curvesSvg)).toEqual(markCounts(nodeCurves));
      expect(markCounts(result.curvesSvg)).toMatchObject({ symbol: 40, line: 1 });
      expect(svgTexts(result.curvesSvg)).toEqual(svgTexts(nodeCurves));
      expect(markCounts(result.gridSvg)).toEqual(markCounts(nodeGrid));
      expect(result.livePoints).toBe(40);
      expect(result.liveTexts).toEqual(expect.arrayContaining(['step', 'loss (log scale)']));
    });
  });
});
