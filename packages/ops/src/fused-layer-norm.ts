// The residual LayerNorm LN(x + r) = (s − μ)·ρ·γ + β over the last axis (s = x + r, μ its
// mean, ρ = 1/√(biased variance + ε)) as one kernel each way on the wasm and cpu backends
// (wasm/layer-norm.wat.mjs, SIMD; in place on tfjs-wasm's heap, copied into the kernel's own
// memory on cpu). Composed of tfjs ops it is ≈ 10 kernels forward and ≈ 15 backward, and the
// tape keeps a copy of x̂ (the size of x); fused, the forward is one kernel that also writes
// the rows' (μ, ρ), the tape keeps x, r, γ and (μ, ρ) (shared, not copied: `saveShared`), and
// the backward is one kernel:
//   x̂ = (s − μ)·ρ,  g = dy·γ,  dx = ρ·(g − mean(g) − x̂·mean(g·x̂)) (also dr),  dγ = Σ dy·x̂,  dβ = Σ dy.
// Results agree with the composed ops to float32 rounding (the sums run in another order).
// When the backward pass is itself being differentiated (a gradient of a gradient), it runs
// as tfjs ops on the saved tensors instead, so it stays differentiable.
import {
  add,
  customGrad,
  engine,
  env,
  getBackend,
  getKernel,
  type KernelBackend,
  type KernelFunc,
  mean,
  mul,
  registerKernel,
  reshape,
  rsqrt,
  square,
  sub,
  sum,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { ConfigError, DataError, formatShape, ShapeError } from './errors.js';
import { LAYER_NORM_IN_PLACE_WASM, LAYER_NORM_WASM } from './layer-norm-wasm.js';
import { saveShared } from './shared-clones.js';
import { runOnTensors, WasmKernel } from './wasm-kernel.js';

const FORWARD = 'SetgenLayerNorm';
const BACKWARD = 'SetgenLayerNormGrad';
/**
 * The tfjs flag that switches the fused LayerNorm off (default on): `tf.env().set(FUSED_LAYER_NORM_FLAG,
 * false)` makes `fusedLayerNormAvailable()` false, so callers take their composed ops (to compare).
 */
export const FUSED_LAYER_NORM_FLAG = 'SETGEN_FUSED_LAYER_NORM';

// registered once per tfjs instance (a second copy of this module must not warn)
if (!(env() as unknown as { flagRegistry?: Record<string, unknown> }).flagRegistry?.[FUSED_LAYER_NORM_FLAG]) {
  env().registerFlag(FUSED_LAYER_NORM_FLAG, () => true);
}

interface LayerNormExports {
  memory: WebAssembly.Memory;
  forward(
    x: number,
    r: number,
    gamma: number,
    beta: number,
    y: number,
    stats: number,
    rows: number,
    c: number,
    epsilon: number,
  ): void;
  backward(
    dy: number,
    x: number,
    r: number,
    gamma: number,
    stats: number,
    dx: number,
    dGamma: number,
    dBeta: number,
    rows: number,
    c: number,
  ): void;
}

const kernel = new WasmKernel<LayerNormExports>(LAYER_NORM_WASM, LAYER_NORM_IN_PLACE_WASM);

/**
 * Whether `fusedAddLayerNorm` runs as the fused kernel on the active backend (wasm or cpu,
 * WebAssembly SIMD compiled, `FUSED_LAYER_NORM_FLAG` not false).
 */
export function fusedLayerNormAvailable(): boolean {
  return env().getBool(FUSED_LAYER_NORM_FLAG) && tensorMemory(getBackend()) !== null && kernel.own() !== null;
}

/** Resolves when the kernel is compiled (in browsers it may compile in the background): whether it is available. */
export function fusedLayerNormReady(): Promise<boolean> {
  return kernel.ready();
}

type Operand = TensorInfo | undefined;

function register(backendName: string, memory: TensorMemory): void {
  const forward: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, residual, gamma, beta } = inputs as Record<string, Operand>;
    const c = x!.shape[x!.shape.length - 1];
    const rows = x!.shape.reduce((a, b) => a * b, 1) / c;
    const epsilon = (attrs as { epsilon: number }).epsilon;
    return runOnTensors(
      kernel,
      memory,
      backend as KernelBackend,
      [x, residual, gamma, beta],
      [[...x!.shape], [rows, 2]],
      (k, [xa, ra, ga, ba], [y, stats]) => k.forward(xa, ra, ga, ba, y, stats, rows, c, epsilon),
    );
  };
  const backward: KernelFunc = ({ inputs, backend }) => {
    const { dy, x, residual, gamma, stats } = inputs as Record<string, Operand>;
    const c = x!.shape[x!.shape.length - 1];
    const rows = x!.shape.reduce((a, b) => a * b, 1) / c;
    return runOnTensors(
      kernel,
      memory,
      backend as KernelBackend,
      [dy, x, residual, gamma, stats],
      [[...x!.shape], [c], [c]],
      (k, [dya, xa, ra, ga, sa], [dx, dGamma, dBeta]) =>
        k.backward(dya, xa, ra, ga, sa, dx, dGamma, dBeta, rows, c),
    );
  };
  registerKernel({ kernelName: FORWARD, backendName, kernelFunc: forward });
  registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: backward });
}

/**
 * The backward pass as tfjs ops (used under a recording tape: differentiable). μ and ρ are
 * computed again from the saved x and r, which the tape connects to the op's inputs (the
 * kernel's saved (μ, ρ) are not).
 */
function composedBackward(
  dy: Tensor,
  x: Tensor,
  residual: Tensor | null,
  gamma: Tensor,
  epsilon: number,
): Tensor[] {
  const c = x.shape[x.rank - 1];
  const rows = x.size / c;
  const flat = (t: Tensor) => reshape(t, [rows, c]);
  const s = residual ? add(flat(x), flat(residual)) : flat(x);
  const centred = sub(s, mean(s, -1, true));
  const rho = rsqrt(add(mean(square(centred), -1, true), epsilon));
  const xHat = mul(centred, rho);
  const dy2 = flat(dy);
  const g = mul(dy2, gamma);
  const dx = mul(sub(sub(g, mean(g, -1, true)), mul(xHat, mean(mul(g, xHat), -1, true))), rho);
  return [reshape(dx, x.shape), sum(mul(dy2, xHat), 0), sum(dy2, 0)];
}

/** The function type `customGrad` takes (not exported by tfjs-core). */
type GradientFunction = Parameters<typeof customGrad>[0];

/** The op for one ε, with or without a residual (customGrad needs a fixed list of inputs). */
function layerNormOp(epsilon: number, withResidual: boolean) {
  const f = (...args: unknown[]) => {
    const save = args.pop() as (tensors: Tensor[]) => void;
    const [x, residual, gamma, beta] = withResidual ? (args as Tensor[]) : [args[0], null, args[1], args[2]];
    const inputs: Record<string, Tensor> = { x: x as Tensor, gamma: gamma as Tensor, beta: beta as Tensor };
    if (residual) inputs.residual = residual as Tensor;
    const [y, stats] = engine().runKernel(FORWARD, inputs, { epsilon }) as Tensor[];
    saveShared(
      save,
      residual
        ? [x as Tensor, residual as Tensor, gamma as Tensor, stats]
        : [x as Tensor, gamma as Tensor, stats],
    );
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sr, sg, ss] = withResidual ? saved : [saved[0], null, saved[1], saved[2]];
        let grads: Tensor[];
        if (engine().isTapeOn()) grads = composedBackward(dy, sx, sr, sg, epsilon);
        else {
          const gradInputs: Record<string, Tensor> = { dy, x: sx, gamma: sg, stats: ss };
          if (sr) gradInputs.residual = sr;
          grads = engine().runKernel(BACKWARD, gradInputs, {}) as Tensor[];
        }
        const [dx, dGamma, dBeta] = grads;
        // the same gradient for both summands, as two tensors (the tape disposes each)
        return withResidual ? [dx, reshape(dx, dx.shape), dGamma, dBeta] : [dx, dGamma, dBeta];
      },
    };
  };
  return customGrad(f as unknown as GradientFunction);
}

const ops = new Map<string, ReturnType<typeof layerNormOp>>();

/** Checks the operands of `fusedAddLayerNorm` (before any tensor work). */
function checkOperands(
  x: Tensor,
  residual: Tensor | null,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
): void {
  if (!(x?.rank >= 1) || x.shape[x.rank - 1] < 1) {
    throw new ShapeError(
      `fusedAddLayerNorm: x must have a last axis of at least one feature, got ${formatShape(x?.shape ?? [])}`,
    );
  }
  const c = x.shape[x.rank - 1];
  if (residual && formatShape(residual.shape) !== formatShape(x.shape)) {
    throw new ShapeError(
      `fusedAddLayerNorm: residual must have x's shape ${formatShape(x.shape)}, got ${formatShape(residual.shape)}`,
    );
  }
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t?.rank !== 1 || t.shape[0] !== c) {
      throw new ShapeError(`fusedAddLayerNorm: ${name} must be [${c}], got ${formatShape(t?.shape ?? [])}`);
    }
  }
  const tensors = residual ? [x, residual, gamma, beta] : [x, gamma, beta];
  if (tensors.some((t) => t.dtype !== 'float32')) {
    throw new DataError(
      `fusedAddLayerNorm: expected float32 tensors, got ${tensors.map((t) => t.dtype).join(', ')}`,
    );
  }
  if (!(Number.isFinite(epsilon) && epsilon > 0)) {
    throw new ConfigError(`fusedAddLayerNorm: epsilon must be a positive finite number, got ${epsilon}`);
  }
}

/**
 * `LN(x + residual)` over the last axis (`residual` null: `LN(x)`) with gain `gamma` and shift
 * `beta` (`[C]` each) and variance offset `epsilon`, as one fused kernel with a written
 * backward pass (dx, the same for the residual, dγ, dβ). Only where `fusedLayerNormAvailable()`
 * (`ConfigError` elsewhere); typed errors for bad shapes, dtypes and ε before any tensor work.
 */
export function fusedAddLayerNorm<T extends Tensor>(
  x: T,
  residual: Tensor | null,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
): T {
  checkOperands(x, residual, gamma, beta, epsilon);
  const backendName = getBackend();
  const memory = tensorMemory(backendName);
  if (!memory || !fusedLayerNormAvailable()) {
    throw new ConfigError(`fusedAddLayerNorm: not available on the ${backendName} backend`);
  }
  if (!getKernel(FORWARD, backendName)) register(backendName, memory);
  const key = `${epsilon}/${residual !== null}`;
  let op = ops.get(key);
  if (!op) {
    op = layerNormOp(epsilon, residual !== null);
    ops.set(key, op);
  }
  return (residual ? op(x, residual, gamma, beta) : op(x, gamma, beta)) as T;
}
