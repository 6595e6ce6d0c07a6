// @setgen/layers on every tfjs backend in headless Chromium (Debian's `chromium`, driven by
// playwright-core; .ci/run makes this suite mandatory): browser/page.ts runs MAB (both
// variants), SAB, ISAB with slot attention, PMA, ABL, FSPool and the four set-creation layers
// on padded batches with NaN in the padding — outputs, and gradients with respect to the
// input and every weight — on wasm, cpu, webgl and webgpu; each is compared with wasm.
import { resolve } from 'node:path';
import { describeConformance, type Tolerance } from '@setgen/testkit/browser';
import type { BrowserBackend } from '@setgen/testkit/browser-page';

/**
 * Bounds against wasm (|x − wasm| ≤ atol + rtol·|wasm|). cpu: the same float32 arithmetic in
 * another order. webgl / webgpu (SwiftShader): float32 too, but exp (softmax), rsqrt (layer
 * norm) and tanh in shaders are approximations of a few ulp, and a layer chains a dozen of
 * them with sums of up to 16 terms. Measured worst deviations: README.md (Browser).
 */
const TOLERANCE: Record<Exclude<BrowserBackend, 'wasm'>, Tolerance> = {
  cpu: { atol: 1e-5, rtol: 1e-4 },
  webgl: { atol: 2e-4, rtol: 1e-3 },
  webgpu: { atol: 2e-4, rtol: 1e-3 },
};

describeConformance('@setgen/layers on wasm, cpu, webgl and webgpu in Chromium', {
  root: resolve(import.meta.dirname, '../browser'),
  cases: [
    'MAB setvae (softmax)',
    'MAB set-transformer',
    'SAB',
    'ISAB (slot attention)',
    'PMA',
    'ABL (posterior, seeded z)',
    'FSPool',
    'TopNCreation',
    'FirstNCreation',
    'IidCreation (MoG prior)',
    'MLPCreation',
  ],
  tolerance: (backend) => TOLERANCE[backend],
});
