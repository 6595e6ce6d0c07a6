// Entropic optimal transport between two uniform point sets (Cuturi 2013), solved by
// Sinkhorn's iterations on the dual potentials in the log domain, so small ε stays stable.
import {
  add,
  div,
  exp,
  logSumExp,
  mul,
  sub,
  sum,
  type Tensor,
  type Tensor1D,
  tensor3d,
  tidy,
  zeros,
} from '@tensorflow/tfjs-core';
import { ConfigError } from './errors.js';
import { checkPairedSets, pairwiseSquaredDistances } from './pairwise-distances.js';
import { readSetBatch } from './read-set-batch.js';
import { reduceBatch } from './reduce-batch.js';
import { asSetBatch, REDUCTIONS, type Reduction, type SetLike } from './set-batch.js';
import { checkOptions, is } from './validate.js';
import { zeroPadding } from './zero-padding.js';

/** Options of {@link sinkhornDistance}. */
export interface SinkhornOptions {
  /** Entropic regulariser ε > 0, in the units of the cost (squared distance). Required. */
  epsilon: number;
  /** Number of Sinkhorn iterations (one = an f update then a g update); default 100. */
  iterations?: number;
  /** Over the batch; default 'mean'. 'none' returns `[B]`. */
  reduction?: Reduction;
}

const SINKHORN_OPTIONS = {
  epsilon: is.number({ positive: true }),
  iterations: is.integer(1),
  reduction: is.oneOf(REDUCTIONS),
};

/** Added to log-weights of padded elements: exp of it is exactly 0 in float32. */
const EXCLUDED = -1e30;

/**
 * `log w` (uniform 1/n over valid elements, 0 elsewhere: unused) and the exclusion term
 * (0 valid, EXCLUDED padded) of one side, shaped for broadcasting against `[B,N,M]`.
 */
function logWeights(valid: Int32Array[], n: number, shape: (b: number) => [number, number, number]) {
  const batch = valid.length;
  const logW = new Float32Array(batch * n);
  const exclude = new Float32Array(batch * n).fill(EXCLUDED);
  valid.forEach((rows, s) => {
    const lw = -Math.log(rows.length);
    for (const i of rows) {
      logW[s * n + i] = lw;
      exclude[s * n + i] = 0;
    }
  });
  return { logW: tensor3d(logW, shape(batch)), exclude: tensor3d(exclude, shape(batch)) };
}

/**
 * Entropic OT cost `⟨P, C⟩` per set, with `C_ij = ‖a_i − b_j‖²` and uniform weights
 * `1/n`, `1/m` over the VALID elements (padding carries no mass). Log-domain Sinkhorn from
 * f = g = 0, one iteration being
 *   f_i ← ε log a_i − ε LSE_j((g_j − C_ij)/ε),   g_j ← ε log b_j − ε LSE_i((f_i − C_ij)/ε),
 * and then `P_ij = exp((f_i + g_j − C_ij)/ε)` (columns sum exactly to b, rows approximately
 * to a). The gradient is that of the computed value: autodiff through the unrolled
 * iterations (memory O(iterations·B·N·M) under a gradient tape), not the envelope-theorem
 * shortcut, which is the gradient of the entropic objective rather than of ⟨P, C⟩.
 */
export function sinkhornDistance(a: SetLike, b: SetLike, options: SinkhornOptions): Tensor {
  const setA = asSetBatch(a, 'a');
  const setB = asSetBatch(b, 'b');
  checkPairedSets(setA.x.shape, setB.x.shape);
  const opts = checkOptions(options, SINKHORN_OPTIONS, 'sinkhornDistance options');
  if (opts.epsilon === undefined) {
    throw new ConfigError(
      'sinkhornDistance options.epsilon: expected a finite number > 0 (in units of the squared distance), got undefined',
    );
  }
  const { epsilon, iterations = 100, reduction = 'mean' } = opts;
  const validA = readSetBatch(setA, 'a').valid;
  const validB = readSetBatch(setB, 'b').valid;
  const [, n] = setA.x.shape;
  const m = setB.x.shape[1];

  return tidy(() => {
    const rowsA = logWeights(validA, n, (batch) => [batch, n, 1]);
    const colsB = logWeights(validB, m, (batch) => [batch, 1, m]);
    // padded rows are selected away (NaN or 1e30 there would survive a multiply by 0), and the
    // cost involving them is zeroed, so padding never reaches a value or a gradient
    const xa = setA.mask ? zeroPadding(setA.x, setA.mask) : setA.x;
    const xb = setB.mask ? zeroPadding(setB.x, setB.mask) : setB.x;
    const mask = mul(exp(rowsA.exclude), exp(colsB.exclude));
    const cost = mul(pairwiseSquaredDistances(xa, xb), mask);
    const scaled = div(cost, -epsilon); // −C/ε
    // −C/ε with padded columns (for the f update) or rows (for the g update) excluded
    const overCols = add(scaled, colsB.exclude);
    const overRows = add(scaled, rowsA.exclude);
    let f: Tensor = zeros([validA.length, n, 1]);
    let g: Tensor = zeros([validB.length, 1, m]);
    for (let t = 0; t < iterations; t++) {
      // a tidy per iteration frees the [B,N,M] temporaries (tensors saved for a gradient survive it)
      const [nextF, nextG] = tidy(() => {
        const f1 = mul(sub(rowsA.logW, logSumExp(add(overCols, div(g, epsilon)), 2, true)), epsilon);
        return [f1, mul(sub(colsB.logW, logSumExp(add(overRows, div(f1, epsilon)), 1, true)), epsilon)];
      });
      f.dispose();
      g.dispose();
      f = nextF;
      g = nextG;
    }
    const logPlan = add(add(overCols, div(add(f, g), epsilon)), rowsA.exclude);
    const transportCost = sum(mul(exp(logPlan), cost), [1, 2]) as Tensor1D;
    return reduceBatch(transportCost, reduction);
  });
}
