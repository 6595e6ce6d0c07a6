// Seeds derived from one integer: reproducible noise streams per training step / call, so a
// restored model repeats a run exactly.

/** A well-mixed seed in [0, 2³¹ − 1) from two integers (e.g. the config's seed and a step). */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) % 2147483647;
}

/** The model's seed: `getConfig().seed` when it is an integer, else 0. */
export function configSeed(config: Record<string, unknown>): number {
  const seed = config.seed;
  return typeof seed === 'number' && Number.isInteger(seed) ? seed : 0;
}

/** Seed of the loss noise at training step `step` (0-based). */
export function stepSeed(seed: number, step: number): number {
  return mixSeed(seed, step + 2);
}
