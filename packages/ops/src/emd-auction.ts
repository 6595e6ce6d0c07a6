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
 * A warm start for the exact solver: the auction's prices p give feasible duals
 * v_j = −p_j, u_i = min_j (c_ij + p_j); its pairs that are exactly tight are kept.
 */
export function auctionStart(cost: Float64Array, n: number, epsilonFinal: number): AssignmentStart {
  const { objectOf, prices } = runAuction(cost, n, epsilonFinal);
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  for (let j = 0; j < n; j++) v[j] = -prices[j];
  for (let i = 0; i < n; i++) {
    const offset = i * n;
    let lowest = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      const value = cost[offset + j] - v[j];
      if (value < lowest) lowest = value;
    }
    u[i] = lowest;
    if (cost[offset + objectOf[i]] - v[objectOf[i]] !== lowest) objectOf[i] = -1;
  }
  return { u, v, colForRow: objectOf };
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
