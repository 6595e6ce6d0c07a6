// The cloud pairs of the exact-EMD benchmarks (assignment-vs-scipy.mjs, emd-exact-ab.mjs):
// two draws of one shape (points on an ellipsoid's surface, as a generated cloud against a
// reference of its category), two shapes of one category (proportions differ by up to 20 %:
// mass moves across the surface), two members of a "category" (each axis of each cloud drawn
// independently within ±20 % of (1, 0.5, 0.3), as the PointFlow protocol pairs clouds of one
// ShapeNet category), and the uniform-vs-Gaussian pair of the shared peer benchmark, whose
// optimal matching is far from local.

/** `{ name, n, make() → [a, b] }` for each case, drawing from `random` (@setgen/ops Random). */
export function emdCases(random) {
  const ellipsoid = (n, [sx, sy, sz] = [1, 0.5, 0.3]) => {
    const v = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const [x, y, z] = [random.normal(), random.normal(), random.normal()];
      const r = Math.hypot(x, y, z);
      v.set([(sx * x) / r, (sy * y) / r, (sz * z) / r], 3 * i);
    }
    return v;
  };
  const peerPair = (n) => [
    Float64Array.from({ length: n * 3 }, () => random.uniform(-0.5, 0.5)),
    Float64Array.from({ length: n * 3 }, () => 0.25 * random.normal()),
  ];
  return [
    { name: 'emd_exact_shape_n2048', n: 2048, make: (n) => [ellipsoid(n), ellipsoid(n)] },
    {
      name: 'emd_exact_two_shapes_n2048',
      n: 2048,
      make: (n) => [ellipsoid(n), ellipsoid(n, [0.9, 0.6, 0.25])],
    },
    {
      name: 'emd_exact_category_n2048',
      n: 2048,
      make: (n) => {
        const member = () =>
          ellipsoid(
            n,
            [1, 0.5, 0.3].map((axis) => axis * random.uniform(0.8, 1.2)),
          );
        return [member(), member()];
      },
    },
    { name: 'emd_exact_shape_n1024', n: 1024, make: (n) => [ellipsoid(n), ellipsoid(n)] },
    { name: 'emd_exact_n2048', n: 2048, make: peerPair },
  ];
}
