/**
 * Exponential moving average with TensorBoard's bias correction: s_t = w·s_{t-1} + (1 − w)·x_t,
 * reported as s_t / (1 − w^t), so the first values are not pulled towards 0. Non-finite values are
 * skipped (their smoothed value is NaN) and do not disturb the average. `weight` in [0, 1).
 */
export function emaSmooth(values: ArrayLike<number>, weight: number): Float64Array {
  if (!(weight >= 0 && weight < 1))
    throw new RangeError(`emaSmooth: weight must be in [0, 1), got ${weight}`);
  const out = new Float64Array(values.length);
  let s = 0;
  let t = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) {
      out[i] = Number.NaN;
      continue;
    }
    s = weight * s + (1 - weight) * x;
    t++;
    out[i] = s / (1 - weight ** t);
  }
  return out;
}

/** The default smoothing weight for `n` steps: an average over roughly the last n / 64 steps. */
export function autoSmoothing(n: number): number {
  const span = n / 64;
  return span <= 1 ? 0 : Math.min(0.995, 1 - 1 / span);
}
