// Reading a rendered SVG back (for tests): how many items each kind of mark drew, and the texts.

/**
 * Items drawn per Vega mark type in an SVG from `renderSvg`, guides (axes, legends, titles)
 * excluded: e.g. { symbol: 120, line: 2 } for two curves of 60 points. Our marks: points are
 * `symbol`, curves `line`, bars and boxes `rect` (pointSetGrid draws one frame `rect` per panel
 * too), segments `rule`.
 */
export function markCounts(svg: string): Record<string, number> {
  const counts: Record<string, number> = {};
  // Data marks are <g class="mark-TYPE role-mark …"> groups whose children are the items.
  // An empty one is self-closing (<g … />).
  const group = /<g class="mark-([a-z]+) role-mark[^"]*"[^>]*?(\/>|>(.*?)<\/g>)/gs;
  for (const [, type, , body] of svg.matchAll(group)) {
    const items = body?.match(/<(path|line|rect|text|image)\b/g)?.length ?? 0;
    counts[type] = (counts[type] ?? 0) + items;
  }
  return counts;
}

/** Every visible text of an SVG (axis titles, tick labels, legend entries, captions), unescaped. */
export function svgTexts(svg: string): string[] {
  const texts: string[] = [];
  for (const [, attributes, body] of svg.matchAll(/<text([^>]*)>(.*?)<\/text>/gs)) {
    if (/opacity="0"/.test(attributes)) continue;
    const inner = body.replace(/<[^>]+>/g, '');
    texts.push(
      inner
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&'),
    );
  }
  return texts;
}
