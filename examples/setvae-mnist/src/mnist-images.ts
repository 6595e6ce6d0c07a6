// The digits of the `mnist` package, a dependency of this example (not of @setgen/data).
import { createRequire } from 'node:module';
import { type MnistImages, mnistPackageDigits } from '@setgen/data';

let images: MnistImages | null = null;

export function mnistImages(): MnistImages {
  images ??= mnistPackageDigits([createRequire(import.meta.url).resolve]);
  return images;
}
