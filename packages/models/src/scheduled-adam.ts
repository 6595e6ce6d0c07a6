// Adam whose learning rate follows a schedule (SetVAE App. D: Adam(0.9, 0.999), linear
// decay to zero after half of training). tfjs's AdamOptimizer reads `learningRate` at
// every update, so a subclass can move it; `getWeights/setWeights` carry the step and
// both moments, which is what an exact resume needs.
//
// The update itself: tfjs's Adam issues about 14 small kernels per variable (≈ 4,000 for
// SetVAE's 285 variables, ≈ 36 ms per step on wasm whatever the batch size). On wasm and cpu
// one kernel does the whole element-wise update of all variables (`adamUpdates` of
// @setgen/ops/internal: a SIMD loop);
// elsewhere the gradients, moments and values are concatenated into flat vectors, updated
// with the same formula and split back. Both are bit-identical to tfjs's Adam. The moments
// stay tfjs's per-variable state, so saved states are interchangeable.

import { ConfigError } from '@setgen/ops';
import { adamUpdateAvailable, adamUpdates, splitRows } from '@setgen/ops/internal';
import {
  AdamOptimizer,
  add,
  concat,
  dispose,
  div,
  engine,
  mul,
  type NamedTensorMap,
  reshape,
  scalar,
  sqrt,
  square,
  sub,
  type Tensor,
  tidy,
  type Variable,
  zerosLike,
} from '@tensorflow/tfjs-core';

/** tfjs's AdamOptimizer state, which is protected in its typings. */
interface AdamState {
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: { originalName: string; variable: Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: Variable }[];
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** What `applyGradients` takes, or a plain map of gradient tensors by variable name. */
type Gradients = Parameters<AdamOptimizer['applyGradients']>[0] | NamedTensorMap;

/**
 * Adam whose learning rate follows a schedule (SetVAE App. D): `setScheduleFactor` scales the base
 * rate; updates run on flat vectors of all variables, bit-identical to tfjs's `AdamOptimizer`,
 * and `getWeights`/`setWeights` carry the step and both moments for an exact resume.
 */
export class ScheduledAdam extends AdamOptimizer {
  /** The learning rate before the schedule's factor. */
  readonly baseLearningRate: number;

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8) {
    if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
      throw new ConfigError(`learningRate: expected a finite number >= 0, got ${learningRate}`);
    }
    super(learningRate, beta1, beta2, epsilon);
    this.baseLearningRate = learningRate;
  }

  /** Sets the current learning rate to `baseLearningRate · factor`. */
  setScheduleFactor(factor: number): void {
    this.learningRate = this.baseLearningRate * factor;
  }

  /** The learning rate the next update will use. */
  get currentLearningRate(): number {
    return this.learningRate;
  }

  /**
   * tfjs's `setWeights`, with β₁ᵗ and β₂ᵗ recomputed as the updates computed them (t float32
   * products, not one `pow`), so a restored optimizer continues bit for bit.
   */
  override async setWeights(weightValues: Parameters<AdamOptimizer['setWeights']>[0]): Promise<void> {
    await super.setWeights(weightValues);
    const state = this as unknown as AdamState & { iterations_: number };
    const power = (beta: number) => {
      const b = Math.fround(beta);
      let acc = b;
      for (let t = 0; t < state.iterations_; t++) acc = Math.fround(acc * b);
      return acc;
    };
    tidy(() => {
      state.accBeta1.assign(scalar(power(state.beta1)));
      state.accBeta2.assign(scalar(power(state.beta2)));
    });
  }

  /** tfjs's Adam update (same state, same values), on flat vectors of all variables. */
  override applyGradients(variableGradients: Parameters<AdamOptimizer['applyGradients']>[0]): void {
    this.applyScaledGradients(variableGradients, 1);
  }

  /**
   * `applyGradients` of the gradients times `scale` (gradient clipping): the same values as
   * `applyGradients` of `tf.mul(g, scale)` for every g, but on wasm and cpu the product is taken
   * inside the update kernel (no op per variable).
   */
  applyScaledGradients(variableGradients: Gradients, scale: number): void {
    if (scale !== 1 && !adamUpdateAvailable()) {
      const scaled = tidy(() =>
        Array.isArray(variableGradients)
          ? variableGradients.map(({ name, tensor }) => ({ name, tensor: mul(tensor, scale) }))
          : Object.fromEntries(Object.entries(variableGradients).map(([name, g]) => [name, mul(g, scale)])),
      );
      try {
        this.applyScaledGradients(scaled as Gradients, 1);
      } finally {
        dispose(Array.isArray(scaled) ? scaled.map((s) => s.tensor) : Object.values(scaled));
      }
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    tidy(() => {
      const updates: { value: Variable; gradient: Tensor; m: Variable; v: Variable }[] = [];
      names.forEach((name, i) => {
        const value = engine().registeredVariables[name];
        // moments are created (as zeros) for every variable named, as tfjs's Adam does
        state.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tidy(() => zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tidy(() => zerosLike(value).variable(false)),
        };
        const gradient = Array.isArray(variableGradients)
          ? variableGradients[i].tensor
          : variableGradients[name];
        if (gradient == null) return;
        updates.push({
          value,
          gradient,
          m: state.accumulatedFirstMoment[i].variable,
          v: state.accumulatedSecondMoment[i].variable,
        });
      });
      if (updates.length > 0 && adamUpdateAvailable()) {
        const constants = {
          beta1: state.beta1,
          beta2: state.beta2,
          epsilon: state.epsilon,
          learningRate: this.learningRate,
          accBeta1: state.accBeta1.dataSync()[0], // a copy of 4 bytes on wasm and cpu
          accBeta2: state.accBeta2.dataSync()[0],
          gradientScale: scale,
        };
        const results = adamUpdates(updates, constants); // one kernel for all variables
        updates.forEach((u, i) => {
          const [value, m, v] = results[i];
          u.m.assign(m);
          u.v.assign(v);
          u.value.assign(value);
        });
      } else if (updates.length > 0) {
        const flat = (pick: (u: (typeof updates)[number]) => Tensor) =>
          concat(updates.map((u) => reshape(pick(u), [-1])));
        const g = flat((u) => u.gradient);
        const { beta1, beta2, epsilon } = state;
        const m = add(
          mul(
            flat((u) => u.m),
            beta1,
          ),
          mul(g, 1 - beta1),
        );
        const v = add(
          mul(
            flat((u) => u.v),
            beta2,
          ),
          mul(square(g), 1 - beta2),
        );
        const mHat = div(m, sub(1, state.accBeta1));
        const vHat = div(v, sub(1, state.accBeta2));
        const values = add(
          mul(div(mHat, add(sqrt(vHat), epsilon)), -this.learningRate),
          flat((u) => u.value),
        );
        const sizes = updates.map((u) => u.value.size);
        const [ms, vs, newValues] = [m, v, values].map((t) => splitRows(t, sizes));
        updates.forEach((u, k) => {
          u.m.assign(reshape(ms[k], u.m.shape));
          u.v.assign(reshape(vs[k], u.v.shape));
          u.value.assign(reshape(newValues[k], u.value.shape));
        });
      }
      state.accBeta1.assign(mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(mul(state.accBeta2, state.beta2));
    });
    this.incrementIterations();
  }
}
