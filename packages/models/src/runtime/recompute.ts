// Gradient checkpointing (recomputation, as torch.utils.checkpoint): a function whose
// intermediates the tape does NOT keep. Its forward pass runs without recording; the
// backward pass recomputes it under a fresh tape and returns the vector–Jacobian products.
// The tape then holds only the function's inputs and output, at the price of one more
// forward pass. The function may itself take gradients (`grads` inside, e.g. DSPN's inner
// step, Eq. 4): recomputing it under a tape differentiates them (second order).
//
// TF.js has no public "pause the tape" switch, and a nested top-level gradient inside a
// backward pass would replace the outer tape. `isolated` therefore saves the engine's tape
// state, runs its function as at top level, and restores the state (tfjs-core 4.x fields).

import { customGrad, engine, type Tensor, tidy, zerosLike } from '@tensorflow/tfjs-core';

interface TapeState {
  activeTape: unknown;
  gradientDepth: number;
  kernelDepth: number;
}

/** Runs `f` as if no gradient tape were recording (its own gradients get their own tape). */
function isolated<T>(f: () => T): T {
  const state = engine().state as unknown as TapeState;
  const saved = {
    activeTape: state.activeTape,
    gradientDepth: state.gradientDepth,
    kernelDepth: state.kernelDepth,
  };
  state.activeTape = null;
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  try {
    return f();
  } finally {
    state.activeTape = saved.activeTape;
    state.gradientDepth = saved.gradientDepth;
    state.kernelDepth = saved.kernelDepth;
  }
}

/**
 * `f(...inputs)` with recomputation. `inputs` are what `f` reads as arguments; `captured`
 * are tensors `f` reads by closure (e.g. a layer's variables, which must stay alive until the
 * backward pass): both get gradients, in that order. The result is differentiable once (its
 * backward pass is not itself recorded: taking a gradient of a gradient through it throws).
 */
export function recomputed(f: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], captured: Tensor[]): Tensor {
  const op = customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as (tensors: Tensor[]) => void;
    save(inputs);
    return {
      value: isolated(() => f(...inputs)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        if ((engine().state as unknown as TapeState).gradientDepth > 0) {
          throw new Error(
            'recomputed: a gradient of a gradient through a recomputed function is not supported',
          );
        }
        return isolated(() =>
          tidy(() => {
            const xs = [...saved, ...captured];
            const { value, grads } = engine().gradients(() => f(...saved), xs, dy, true);
            value.dispose();
            return xs.map((x, i) => grads[i] ?? zerosLike(x));
          }),
        );
      },
    };
  });
  return op(...inputs, ...captured);
}
