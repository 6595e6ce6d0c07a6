// The masked softmax of attention, A = softmax over the valid keys of s·logits (s > 0: the
// 1/√d of scaled dot-product attention folded in), 0 at padded keys and in rows of padded
// queries, as one taped op whose backward is written out from A alone:
// dlogits = s·(dA ⊙ A − (Σ_keys dA ⊙ A) ⊙ A) (A is the only tensor the tape keeps).
// On wasm and cpu it runs as one kernel each way (wasm/masked-softmax.wat.mjs, SIMD; in place
// on tfjs-wasm's heap, copied into the kernel's own memory on cpu), where tfjs's ops take six
// kernels forward (bias, sum, softmax, two mask products) and six backward. Elsewhere the
// same op is composed of tfjs ops: padded keys get the logit bias −1e9 (their weight
// underflows to 0), then both masks multiply. The two agree to float32 rounding (the kernel's
// exp is a polynomial with relative error ≈ 1e-7, and padded keys are never read by it).
// When the backward pass is itself differentiated (a gradient of a gradient) it runs as tfjs
// ops on the saved A, so it stays differentiable.
import {
  add,
  customGrad,
  engine,
  env,
  expandDims,
  getBackend,
  getKernel,
  type KernelBackend,
  type KernelFunc,
  mul,
  registerKernel,
  softmax,
  sub,
  sum,
  type Tensor,
  type Tensor2D,
  type Tensor3D,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { ConfigError, DataError, formatShape, ShapeError } from './errors.js';
import { MASKED_SOFTMAX_IN_PLACE_WASM, MASKED_SOFTMAX_WASM } from './masked-softmax-wasm.js';
import { saveShared } from './shared-clones.js';
import { runOnTensors, WasmKernel } from './wasm-kernel.js';

const FORWARD = 'SetgenMaskedSoftmax';
const BACKWARD = 'SetgenMaskedSoftmaxGrad';
/**
 * The tfjs flag that switches the fused kernels off (default on): `tf.env().set(FUSED_SOFTMAX_FLAG,
 * false)` makes `maskedSoftmax` use its composed tfjs ops everywhere (to compare).
 */
export const FUSED_SOFTMAX_FLAG = 'SETGEN_FUSED_SOFTMAX';

// registered once per tfjs instance (a second copy of this module must not warn)
if (!(env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry?.[FUSED_SOFTMAX_FLAG]) {
  env().registerFlag(FUSED_SOFTMAX_FLAG, () => true);
}

/** Added to logits of padded positions in the composed ops, so that their softmax weight underflows to zero. */
const MASKED_LOGIT = -1e9;

/**
 * The additive logit bias of a mask: 0 at valid positions, −1e9 at padding (the composed masked
 * softmax's, and slot attention's over queries in @setgen/layers).
 */
export function maskBias(mask: Tensor): Tensor {
  return mul(sub(1, mask), MASKED_LOGIT);
}

interface MaskedSoftmaxExports {
  memory: WebAssembly.Memory;
  forward(
    x: number,
    keyMask: number,
    queryMask: number,
    y: number,
    rows: number,
    nq: number,
    nk: number,
    scale: number,
  ): void;
  backward(dy: number, y: number, dx: number, rows: number, nk: number, scale: number): void;
}

const kernel = new WasmKernel<MaskedSoftmaxExports>(MASKED_SOFTMAX_WASM, MASKED_SOFTMAX_IN_PLACE_WASM);

/** Whether `maskedSoftmax` runs as the fused kernels on the active backend (wasm or cpu, SIMD compiled, flag on). */
export function fusedSoftmaxAvailable(): boolean {
  return env().getBool(FUSED_SOFTMAX_FLAG) && tensorMemory(getBackend()) !== null && kernel.own() !== null;
}

type Operand = TensorInfo | undefined;

function register(backendName: string, memory: TensorMemory): void {
  const forward: KernelFunc = ({ inputs, backend, attrs }) => {
    const { logits, keyMask, queryMask } = inputs as Record<string, Operand>;
    const [c, nq, nk] = logits!.shape;
    const scale = (attrs as { scale: number }).scale;
    return runOnTensors(
      kernel,
      memory,
      backend as KernelBackend,
      [logits, keyMask, queryMask],
      [[c, nq, nk]],
      (k, [x, km, qm], [y]) => k.forward(x, km, qm, y, c * nq, nq, nk, scale),
    )[0];
  };
  const backward: KernelFunc = ({ inputs, backend, attrs }) => {
    const { dy, weights } = inputs as Record<string, Operand>;
    const [c, nq, nk] = weights!.shape;
    const scale = (attrs as { scale: number }).scale;
    return runOnTensors(
      kernel,
      memory,
      backend as KernelBackend,
      [dy, weights],
      [[c, nq, nk]],
      (k, [dya, y], [dx]) => k.backward(dya, y, dx, c * nq, nk, scale),
    )[0];
  };
  registerKernel({ kernelName: FORWARD, backendName, kernelFunc: forward });
  registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: backward });
}

/** The forward pass as tfjs ops: softmax of scale·logits with padded keys at −1e9, then exact zeros at padding. */
function composedForward(
  logits: Tensor,
  keyMask: Tensor | null,
  queryMask: Tensor | null,
  scale: number,
): Tensor {
  const scaled = scale === 1 ? logits : mul(logits, scale);
  let weights = softmax(keyMask ? add(scaled, expandDims(maskBias(keyMask), 1)) : scaled);
  // exact zeros at padding, also for a set with no valid key at all
  if (keyMask) weights = mul(weights, expandDims(keyMask, 1));
  if (queryMask) weights = mul(weights, expandDims(queryMask, 2));
  return weights;
}

/**
 * dlogits = (dA ⊙ A − (Σ_keys dA ⊙ A) ⊙ A)·scale as tfjs ops (tfjs's softmax gradient, in its
 * order of operations).
 */
function composedBackward(dy: Tensor, weights: Tensor, scale: number): Tensor {
  const dyTimesW = mul(dy, weights);
  const dScaled = sub(dyTimesW, mul(sum(dyTimesW, -1, true), weights));
  return scale === 1 ? dScaled : mul(dScaled, scale);
}

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

/** Checks the operands of `maskedSoftmax` (before any tensor work). */
function checkOperands(
  logits: Tensor3D,
  keyMask: Tensor2D | null,
  queryMask: Tensor2D | null,
  scale: number,
): void {
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale > 0)) {
    throw new ConfigError(`maskedSoftmax: scale must be a positive finite number, got ${scale}`);
  }
  if (logits?.rank !== 3) {
    throw new ShapeError(
      `maskedSoftmax: logits must be [C, Nq, Nk], got ${formatShape(logits?.shape ?? [])}`,
    );
  }
  const [c, nq, nk] = logits.shape;
  for (const [name, mask, n] of [
    ['keyMask', keyMask, nk],
    ['queryMask', queryMask, nq],
  ] as const) {
    if (mask && (mask.rank !== 2 || mask.shape[0] !== c || mask.shape[1] !== n)) {
      throw new ShapeError(`maskedSoftmax: ${name} must be [${c}, ${n}], got ${formatShape(mask.shape)}`);
    }
  }
  const tensors: Tensor[] = [logits, keyMask, queryMask].filter((t) => t !== null) as Tensor[];
  if (tensors.some((t) => t.dtype !== 'float32')) {
    throw new DataError(
      `maskedSoftmax: expected float32 tensors, got ${tensors.map((t) => t.dtype).join(', ')}`,
    );
  }
}

/**
 * Attention's masked softmax over the last axis of `scale · logits` (`logits` `[C, Nq, Nk]`,
 * `scale` > 0, default 1): weights of the keys valid in `keyMask` `[C, Nk]` (> 0.5; null: all),
 * exact zeros at padded keys, in rows of padded queries (`queryMask` `[C, Nq]`) and in rows
 * without a valid key. Differentiable (to any order); fused kernels where
 * `fusedSoftmaxAvailable()`, tfjs ops elsewhere.
 */
export function maskedSoftmax(
  logits: Tensor3D,
  keyMask: Tensor2D | null,
  queryMask: Tensor2D | null,
  scale = 1,
): Tensor3D {
  checkOperands(logits, keyMask, queryMask, scale);
  const backendName = getBackend();
  const memory = tensorMemory(backendName);
  const fused = memory !== null && fusedSoftmaxAvailable();
  if (fused && !getKernel(FORWARD, backendName)) register(backendName, memory);
  // the masks are data (no gradient): closed over, not inputs of the op
  const op = customGrad(((x: Tensor, save: (tensors: Tensor[]) => void) => {
    const weights = fused
      ? (engine().runKernel(
          FORWARD,
          {
            logits: x,
            ...(keyMask ? { keyMask } : {}),
            ...(queryMask ? { queryMask } : {}),
          },
          { scale },
        ) as Tensor)
      : composedForward(x, keyMask, queryMask, scale);
    saveShared(save, [weights]);
    return {
      value: weights,
      gradFunc: (dy: Tensor, [w]: Tensor[]) =>
        fused && !engine().isTapeOn()
          ? (engine().runKernel(BACKWARD, { dy, weights: w }, { scale }) as Tensor)
          : composedBackward(dy, w, scale),
    };
  }) as unknown as GradientFunction);
  return op(logits) as Tensor3D;
}
