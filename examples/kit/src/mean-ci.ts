// Mean and 95 % confidence interval of a few repeated measurements (seeds), as experiment
// tables report them: mean ± t_{0.975, n−1} · s / √n (Student t, s the sample standard deviation).

/** Two-sided 95 % Student-t quantiles t_{0.975, k} for k = 1 … 30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * `{ mean, ci }`: the mean of `values` and the half-width of its 95 % Student-t interval
 * (NaN for a single value; the normal 1.96 beyond 30 degrees of freedom). An `Error` for no
 * values or a non-finite one.
 */
export function meanCi(values: readonly number[]): { mean: number; ci: number } {
  if (values.length === 0) throw new Error('meanCi: expected at least one value');
  if (!values.every(Number.isFinite))
    throw new Error(`meanCi: expected finite values, got ${values.join(', ')}`);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci: Number.NaN };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, ci: ((T975[n - 2] ?? 1.96) * sd) / Math.sqrt(n) };
}
