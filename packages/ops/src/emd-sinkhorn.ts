/**
 * Entropic optimal transport on the host (Cuturi 2013) with uniform weights a = 1/n, b = 1/m:
 *   P = diag(u) K diag(v),  K_ij = exp((f_i + g_j − C_ij)/ε),  u = a / (K v),  v = b / (Kᵀ u).
 * Stabilised as in Schmitzer 2019: the large part of the scalings lives in the log-domain
 * potentials f, g, and is absorbed (f += ε log u, g += ε log v, K recomputed) whenever u or v
 * leave [1e-50, 1e50], so small ε does not under- or overflow; the iterations themselves are
 * exp-free matrix–vector products. ε-scaling: the potentials are warm-started through
 * ε = max C, max C/2, … (a few updates each) down to the target ε, where updates run until
 * the row marginals are within `tolerance` (L1; the columns are exact after each v update)
 * or `maxIterations`.
 */

/** Scaling updates at each intermediate ε of the schedule. */
const UPDATES_PER_SCALE = 3;
/** u or v outside [1/ABSORB_LIMIT, ABSORB_LIMIT] are absorbed into the potentials. */
const ABSORB_LIMIT = 1e50;

/** Settings of {@link sinkhornTransportCost}. */
export interface SinkhornSettings {
  /** Entropic regulariser ε, in units of the cost. */
  epsilon: number;
  /** Upper bound on the number of (u, v) updates at the target ε. */
  maxIterations: number;
  /** L1 error of the row marginals at which to stop. */
  tolerance: number;
}

/** ⟨P, C⟩ for the entropic plan P of a row-major `[n, m]` cost (finite, ≥ 0, checked by the caller). */
export function sinkhornTransportCost(
  cost: Float64Array,
  n: number,
  m: number,
  settings: SinkhornSettings,
): number {
  const { epsilon, maxIterations, tolerance } = settings;
  let maxCost = 0;
  for (let k = 0; k < cost.length; k++) if (cost[k] > maxCost) maxCost = cost[k];
  const state: ScalingState = {
    cost,
    n,
    m,
    epsilon: Math.max(maxCost, epsilon),
    f: new Float64Array(n),
    g: new Float64Array(m),
    u: new Float64Array(n).fill(1),
    v: new Float64Array(m).fill(1),
    kernel: new Float64Array(n * m),
  };
  for (let scale = maxCost; scale > epsilon; scale /= 2) {
    absorb(state, scale);
    for (let k = 0; k < UPDATES_PER_SCALE; k++) scalingUpdate(state);
  }
  absorb(state, epsilon);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (scalingUpdate(state) < tolerance) break;
  }
  return roundedTransportCost(state);
}

/**
 * ⟨P̂, C⟩ for the plan P̂ of Altschuler, Weed & Rigollet 2017 (Alg. 2) rounded from
 * P = diag(u) K diag(v) onto the exact marginals: rows scaled down to at most a, then columns
 * to at most b, then the missing mass added as err_r err_cᵀ / ‖err_r‖₁. P̂ is feasible, so the
 * result is never below the exact optimum, and ‖P̂ − P‖₁ ≤ 2 × the marginal error of P.
 */
function roundedTransportCost(state: ScalingState): number {
  const { cost, n, m, kernel } = state;
  const a = 1 / n;
  const b = 1 / m;
  const u = Float64Array.from(state.u);
  const v = Float64Array.from(state.v);
  for (let i = 0; i < n; i++) {
    const row = u[i] * dotRow(kernel, i * m, v, m);
    if (row > a) u[i] *= a / row;
  }
  const columns = columnSums(kernel, n, m, u);
  const columnError = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const column = v[j] * columns[j];
    if (column > b) v[j] *= b / column;
    columnError[j] = b - v[j] * columns[j];
  }
  let transportCost = 0;
  let correction = 0;
  let rowErrorSum = 0;
  for (let i = 0; i < n; i++) {
    const offset = i * m;
    let row = 0;
    let rowCost = 0;
    let errorCost = 0;
    for (let j = 0; j < m; j++) {
      const scaled = kernel[offset + j] * v[j];
      row += scaled;
      rowCost += scaled * cost[offset + j];
      errorCost += columnError[j] * cost[offset + j];
    }
    transportCost += u[i] * rowCost;
    const rowError = Math.max(a - u[i] * row, 0);
    rowErrorSum += rowError;
    correction += rowError * errorCost;
  }
  return rowErrorSum > 0 ? transportCost + correction / rowErrorSum : transportCost;
}

function dotRow(kernel: Float64Array, offset: number, v: Float64Array, m: number): number {
  let sum = 0;
  for (let j = 0; j < m; j++) sum += kernel[offset + j] * v[j];
  return sum;
}

/** Kᵀu, accumulated row by row (row-major friendly). */
function columnSums(kernel: Float64Array, n: number, m: number, u: Float64Array): Float64Array {
  const sums = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const offset = i * m;
    const ui = u[i];
    for (let j = 0; j < m; j++) sums[j] += kernel[offset + j] * ui;
  }
  return sums;
}

interface ScalingState {
  cost: Float64Array;
  n: number;
  m: number;
  epsilon: number;
  /** Log-domain potentials. */
  f: Float64Array;
  g: Float64Array;
  /** Scalings on top of the potentials. */
  u: Float64Array;
  v: Float64Array;
  /** exp((f_i + g_j − C_ij)/ε). */
  kernel: Float64Array;
}

/**
 * Moves the scalings into the potentials (f += ε log u, g += ε log v at the ε they were
 * computed with), then switches to `nextEpsilon` and recomputes the kernel.
 */
function absorb(state: ScalingState, nextEpsilon = state.epsilon): void {
  const { cost, n, m, epsilon, f, g, u, v, kernel } = state;
  for (let i = 0; i < n; i++) f[i] += epsilon * Math.log(u[i]);
  for (let j = 0; j < m; j++) g[j] += epsilon * Math.log(v[j]);
  u.fill(1);
  v.fill(1);
  state.epsilon = nextEpsilon;
  const inverseEpsilon = 1 / nextEpsilon;
  for (let i = 0; i < n; i++) {
    const offset = i * m;
    const fi = f[i];
    for (let j = 0; j < m; j++)
      kernel[offset + j] = Math.exp((fi + g[j] - cost[offset + j]) * inverseEpsilon);
  }
}

/**
 * u = a / (K v), then v = b / (Kᵀ u). Returns the L1 error of the row marginals of the plan
 * before the update (it comes for free from K v).
 */
function scalingUpdate(state: ScalingState): number {
  const { n, m, u, v, kernel } = state;
  const a = 1 / n;
  const b = 1 / m;
  let rowError = 0;
  let absorbNeeded = false;
  for (let i = 0; i < n; i++) {
    const kv = dotRow(kernel, i * m, v, m);
    rowError += Math.abs(u[i] * kv - a);
    const ui = a / kv;
    u[i] = ui;
    if (!(ui < ABSORB_LIMIT && ui > 1 / ABSORB_LIMIT)) absorbNeeded = true;
  }
  const ktu = columnSums(kernel, n, m, u);
  for (let j = 0; j < m; j++) {
    const vj = b / ktu[j];
    v[j] = vj;
    if (!(vj < ABSORB_LIMIT && vj > 1 / ABSORB_LIMIT)) absorbNeeded = true;
  }
  if (absorbNeeded) absorb(state);
  return rowError;
}
