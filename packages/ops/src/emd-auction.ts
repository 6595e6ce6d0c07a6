/**
 * Bertsekas' auction algorithm with ε-scaling for the square assignment problem (Bertsekas
 * 1988, "The auction algorithm: a distributed relaxation method"; Bertsekas & Castañon 1989
 * for ε-scaling), written for minimisation: person i values object j at −(c_ij + p_j).
 *
 * Each unassigned person bids for its best object j* (smallest c_ij + p_j), raising p_j* by
 * (second best − best) + ε, and takes it from its previous owner. At the end of a phase every
 * person holds an object within ε of its best (ε-complementary slackness), so the total cost
 * is within n·ε of the optimum. Phases run ε_0 = range/4, then ε ← ε/θ (θ = 5) down to
 * `epsilonFinal`, keeping the prices and restarting the assignment each phase.
 */
import type { AssignmentStart } from './linear-sum-assignment.js';

/** Ratio between successive ε of the scaling schedule. */
const EPSILON_DECAY = 5;

/**
 * Assignment of a square `[n, n]` row-major cost (finite, checked by the caller) whose total
 * is at most n·`epsilonFinal` above the optimum. Returns the column of each row.
 */
export function auctionAssignment(cost: Float64Array, n: number, epsilonFinal: number): Int32Array {
  return runAuction(cost, n, epsilonFinal).objectOf;
}

/**
 * A warm start for the exact solver from the auction's prices p. One round of dual
 * coordinate ascent makes the duals feasible and as tight as possible:
 * u_i = min_j (c_ij + p_j), then v_j = min_i (c_ij − u_i) (≥ −p_j). The auction's pairs that
 * are exactly tight are kept, and each still free column takes its minimising row if that
 * row is free (as in the JV column reduction). Ties in the costs (repeated points) thus give
 * exactly zero reduced costs, which keeps the augmenting paths short.
 */
export function auctionStart(cost: Float64Array, n: number, epsilonFinal: number): AssignmentStart {
  const { objectOf, prices } = runAuction(cost, n, epsilonFinal);
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const offset = i * n;
    let lowest = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      const value = cost[offset + j] + prices[j];
      if (value < lowest) lowest = value;
    }
    u[i] = lowest;
  }
  const v = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const argminRow = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const offset = i * n;
    const ui = u[i];
    for (let j = 0; j < n; j++) {
      const value = cost[offset + j] - ui;
      if (value < v[j]) {
        v[j] = value;
        argminRow[j] = i;
      }
    }
  }
  const colForRow = new Int32Array(n).fill(-1);
  const rowForCol = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const j = objectOf[i];
    if (cost[i * n + j] - u[i] === v[j]) {
      colForRow[i] = j;
      rowForCol[j] = i;
    }
  }
  for (let j = 0; j < n; j++) {
    const i = argminRow[j];
    if (rowForCol[j] < 0 && colForRow[i] < 0) {
      colForRow[i] = j;
      rowForCol[j] = i;
    }
  }
  return { u, v, colForRow };
}

function runAuction(
  cost: Float64Array,
  n: number,
  epsilonFinal: number,
): { objectOf: Int32Array; prices: Float64Array } {
  const objectOf = new Int32Array(n).fill(-1);
  const prices = new Float64Array(n);
  if (n === 1) {
    objectOf[0] = 0;
    return { objectOf, prices };
  }
  let lowestCost = Number.POSITIVE_INFINITY;
  let highestCost = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < cost.length; k++) {
    const c = cost[k];
    if (c < lowestCost) lowestCost = c;
    if (c > highestCost) highestCost = c;
  }
  const ownerOf = new Int32Array(n);
  const unassigned = new Int32Array(n); // a stack of persons without an object
  let epsilon = Math.max((highestCost - lowestCost) / 4, epsilonFinal);
  for (;;) {
    objectOf.fill(-1);
    ownerOf.fill(-1);
    for (let i = 0; i < n; i++) unassigned[i] = n - 1 - i;
    let unassignedCount = n;
    while (unassignedCount > 0) {
      const person = unassigned[--unassignedCount];
      const offset = person * n;
      let best = Number.POSITIVE_INFINITY;
      let second = Number.POSITIVE_INFINITY;
      let bestObject = 0;
      for (let j = 0; j < n; j++) {
        const value = cost[offset + j] + prices[j];
        if (value < second) {
          if (value < best) {
            second = best;
            best = value;
            bestObject = j;
          } else {
            second = value;
          }
        }
      }
      // The bid: raise the price until the object is ε worse than the second best.
      prices[bestObject] += second - best + epsilon;
      const previousOwner = ownerOf[bestObject];
      if (previousOwner >= 0) {
        objectOf[previousOwner] = -1;
        unassigned[unassignedCount++] = previousOwner;
      }
      ownerOf[bestObject] = person;
      objectOf[person] = bestObject;
    }
    if (epsilon <= epsilonFinal) return { objectOf, prices };
    epsilon = Math.max(epsilon / EPSILON_DECAY, epsilonFinal);
  }
}
