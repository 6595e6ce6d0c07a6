// SetVAE on every tfjs backend in headless Chromium (Debian's `chromium`, driven by
// playwright-core; .ci/run makes this suite mandatory): browser/page.ts trains a small SetVAE
// for three seeded steps on a padded batch (NaN in the padding), then samples, reconstructs
// and encodes, on wasm, cpu, webgl and webgpu; each is compared with wasm.
import { resolve } from 'node:path';
import { describeConformance, type Tolerance } from '@setgen/testkit/browser';
import type { BrowserBackend } from '@setgen/testkit/browser-page';

/**
 * Bounds against wasm (|x − wasm| ≤ atol + rtol·|wasm|). The model chains ~40 layers: float32
 * rounding in another order (cpu) or few-ulp shader exp/rsqrt (webgl/webgpu on SwiftShader)
 * add up. Training could amplify that (Adam divides each gradient by its running RMS, so a
 * weight with a ~0 gradient may move by up to the learning rate in another direction), but
 * after four steps the losses and the trained model's sample still agree to ~1e-6.
 */
const TOLERANCE: Record<Exclude<BrowserBackend, 'wasm'>, Tolerance> = {
  cpu: { atol: 1e-5, rtol: 1e-4 },
  webgl: { atol: 1e-4, rtol: 1e-3 },
  webgpu: { atol: 1e-4, rtol: 1e-3 },
};

describeConformance('SetVAE on wasm, cpu, webgl and webgpu in Chromium', {
  root: resolve(import.meta.dirname, '../browser'),
  cases: ['SetVAE 3 training steps', 'SetVAE sample, reconstruct, encode (fresh weights)'],
  tolerance: (backend) => TOLERANCE[backend],
});
