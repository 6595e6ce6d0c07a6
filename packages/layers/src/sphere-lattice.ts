// The generalised Fibonacci lattice on the unit sphere S^{D-1} that SetVAE's `fixed_gmm`
// initial set uses for its mixture means (models/fiblat, after E. Brinkman's `fiblat`):
// K points of the [0,1]^{D-1} cube lattice i·(1/K, √2, √3, √5, √7, ...) mod 1, mapped to the
// sphere by inverting the CDF of each polar angle, so neighbouring points are about equally far.

/** √2, √3, √5, ...: square roots of the first `count` primes (mutually irrational). */
function rootPrimes(count: number): number[] {
  const roots: number[] = [];
  for (let candidate = 2; roots.length < count; candidate++) {
    let prime = true;
    for (let d = 2; d * d <= candidate; d++) {
      if (candidate % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) roots.push(Math.sqrt(candidate));
  }
  return roots;
}

/** ∫_0^x sin^m(t) dt, by the reduction formula. */
function integralOfSinPower(x: number, m: number): number {
  if (m === 0) return x;
  if (m === 1) return 1 - Math.cos(x);
  return ((m - 1) / m) * integralOfSinPower(x, m - 2) - (Math.cos(x) * Math.sin(x) ** (m - 1)) / m;
}

/** The y in [0, π] with f(y) = target for an increasing f, by bisection to |f(y) − target| ≤ 1e-10. */
function invertIncreasing(f: (y: number) => number, target: number): number {
  let [lower, upper] = [0, Math.PI];
  let mid = (lower + upper) / 2;
  for (let step = 0; step < 200 && Math.abs(f(mid) - target) > 1e-10; step++) {
    if (f(mid) > target) upper = mid;
    else lower = mid;
    mid = (lower + upper) / 2;
  }
  return mid;
}

/** `count` unit vectors in R^dim (dim ≥ 2) spread evenly over the sphere, row-major `[count, dim]`. */
export function sphereLattice(dim: number, count: number): Float64Array {
  const multipliers = [1 / count, ...rootPrimes(dim - 2)];
  // Γ((d+1)/2) / (Γ(d/2) √π) normalises ∫_0^π sin^{d-1} to 1; the ratio obeys r(d+1) = (d/2) / r(d)
  const normalisers: number[] = [];
  let ratio = Math.sqrt(Math.PI) / 2; // Γ(3/2) / Γ(1)
  for (let d = 2; d < dim; d++) {
    normalisers.push(ratio / Math.sqrt(Math.PI));
    ratio = d / 2 / ratio;
  }
  const out = new Float64Array(count * dim);
  for (let i = 0; i < count; i++) {
    const cube = multipliers.map((m) => (i * m) % 1);
    const point = new Array<number>(dim).fill(1);
    point[0] *= Math.sin(2 * Math.PI * cube[0]);
    point[1] *= Math.cos(2 * Math.PI * cube[0]);
    for (let d = 2; d < dim; d++) {
      const angle = invertIncreasing((y) => normalisers[d - 2] * integralOfSinPower(y, d - 1), cube[d - 1]);
      for (let j = 0; j < d; j++) point[j] *= Math.sin(angle);
      point[d] *= Math.cos(angle);
    }
    out.set(point, i * dim);
  }
  return out;
}
