// PyTorch's default `nn.Linear` initialisation, which every reference code uses: kernel and
// bias alike uniform in ±1/sqrt(fanIn). One definition for every @setgen layer and model.
import type { Random } from '@setgen/ops';
import { initializers } from '@tensorflow/tfjs-layers';

/** The bound 1/sqrt(fanIn) of PyTorch's `nn.Linear` initialisation. */
export function linearInitBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}

/** A tfjs-layers initializer drawing U(±1/sqrt(fanIn)) (seeded when `seed` is given). */
export function linearInitializer(
  fanIn: number,
  seed?: number,
): ReturnType<typeof initializers.randomUniform> {
  const bound = linearInitBound(fanIn);
  return initializers.randomUniform({ minval: -bound, maxval: bound, seed });
}

/** `count` draws of U(±1/sqrt(fanIn)) from a host stream (models that seed one `Random`). */
export function linearInitValues(fanIn: number, count: number, random: Random): Float32Array {
  const bound = linearInitBound(fanIn);
  return Float32Array.from({ length: count }, () => random.uniform(-bound, bound));
}
