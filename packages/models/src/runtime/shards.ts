// Data-parallel steps, the part every runtime shares: a batch cut into S contiguous shards of
// sets, each shard's loss and gradients computed on its own (on this thread or on a worker:
// `@setgen/models/node`'s `dataParallel`), and their weighted sum. The numbers depend on S
// only: shard s of step t always draws its noise from (the step's seed, s), its gradients are
// read to the host exactly as computed, and the sum runs in shard order in float64, whatever
// thread computed which shard.
//
//   ∇L = Σ_s c_s ∇L_s,  c_s = B_s / B  (terms that are means over the sets of the batch)
//                       c_s = 1        (terms that are sums over the sets: `batchReduction: 'sum'`)

import { ConfigError } from '@setgen/ops';
import { withSharedClones } from '@setgen/ops/internal';
import { dispose, engine, keep, type Scalar, slice, type Tensor, variableGrads } from '@tensorflow/tfjs-core';
import { mixSeed } from './seeds.js';
import type { LossOptions, LossTerms, SetModel, TrainBatch } from './set-model.js';

/** Most shards a step may be cut into. */
export const MAX_SHARDS = 64;

/** Shard boundaries of a batch of `batch` sets in `shards` contiguous slices, sizes as even as possible. */
export function shardBounds(batch: number, shards: number): number[] {
  const bounds = [0];
  const base = Math.floor(batch / shards);
  const extra = batch % shards; // the first `extra` shards take one set more
  for (let s = 0; s < shards; s++) bounds.push(bounds[s] + base + (s < extra ? 1 : 0));
  return bounds;
}

/** The seed of shard `s`'s loss noise at a step whose seed is `stepSeed`. */
export function shardSeed(stepSeed: number, s: number): number {
  return mixSeed(stepSeed, s + 1);
}

/**
 * Releases what the gradient tape kept when the forward or backward pass threw: the tensors
 * saved for backprop are `keep`-ed, so no tidy frees them, and the next tape drops them.
 */
export function releaseTape(): void {
  const state = (
    engine() as unknown as { state: { gradientDepth: number; activeTape: { saved?: Tensor[] }[] | null } }
  ).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) dispose(node.saved ?? []);
  state.activeTape = null;
}

/** What one shard contributes, on the host: its loss terms and its gradient per trainable variable. */
export interface ShardResult {
  /** `[name, value]`, `total` first, in the order the model's `loss` returned them. */
  terms: [string, number][];
  /** Per trainable variable (in `trainableVariables` order): its gradient, or null if it got none. */
  gradients: (Float32Array | null)[];
}

/** Rows `b0..b1` of every field of a batch (tensors the caller disposes). */
export function sliceBatch(batch: TrainBatch, b0: number, b1: number): TrainBatch {
  const rows = (t: Tensor | undefined) =>
    t === undefined ? undefined : slice(t, [b0], [b1 - b0, ...t.shape.slice(1)]);
  const out: Record<string, Tensor | undefined> = {
    x: rows(batch.x),
    mask: rows(batch.mask),
    condition: rows(batch.condition),
    target: rows(batch.target),
    targetMask: rows(batch.targetMask),
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as unknown as TrainBatch;
}

/** Tensors of a batch (the fields that are set). */
export function batchTensors(batch: TrainBatch): Tensor[] {
  return [batch.x, batch.mask, batch.condition, batch.target, batch.targetMask].filter(
    (t): t is NonNullable<typeof t> => t !== undefined,
  );
}

/** `loss` as a model's `loss` must return it: `{ total: Scalar, ...terms }` (else a ConfigError). */
export function checkedLoss(model: SetModel, loss: LossTerms): LossTerms {
  if (!loss || typeof loss !== 'object' || !(loss.total && typeof loss.total.dataSync === 'function')) {
    throw new ConfigError(`${model.constructor.name}.loss: expected { total: Scalar, ...terms }`);
  }
  return loss;
}

/**
 * One shard's loss and gradients, read back to the host; every tensor it made is freed, also
 * when the loss throws. `releaseTape` frees what a failed gradient tape kept. The tensors the
 * tape saves share their data instead of being copied (`withSharedClones`, tfjs-wasm), on
 * the main thread and on the workers alike.
 */
export function computeShard(
  model: SetModel,
  shard: TrainBatch,
  options: LossOptions,
  variables: readonly Tensor[],
): ShardResult {
  const kept: Scalar[] = [];
  const names: string[] = [];
  let result: ReturnType<typeof variableGrads>;
  try {
    result = withSharedClones(() =>
      variableGrads(() => {
        const loss = checkedLoss(model, model.loss(shard, options));
        for (const [name, t] of Object.entries(loss)) {
          if (name === 'total') continue;
          names.push(name);
          kept.push(keep(t));
        }
        return loss.total;
      }, variables as never),
    );
  } catch (error) {
    releaseTape();
    dispose(kept);
    throw error;
  }
  const { value, grads } = result;
  try {
    const byName = new Map(Object.entries(grads));
    const terms: [string, number][] = [['total', value.dataSync()[0]]];
    kept.forEach((t, i) => {
      terms.push([names[i], t.dataSync()[0]]);
    });
    const gradients = variables.map((v) => {
      const g = byName.get((v as unknown as { name: string }).name);
      return g ? Float32Array.from(g.dataSync() as Float32Array) : null;
    });
    return { terms, gradients };
  } finally {
    dispose([value, ...Object.values(grads), ...kept]);
  }
}

/**
 * Σ_s c_s · (shard s's terms and gradients), in shard order, in float64, rounded once to float32.
 * Throws if the shards disagree on the terms' names (a model whose terms depend on the data).
 */
export function combineShards(
  results: readonly ShardResult[],
  coefficients: readonly number[],
  sizes: readonly number[],
): ShardResult {
  const names = results[0].terms.map(([name]) => name);
  for (const r of results) {
    if (r.terms.length !== names.length || r.terms.some(([name], i) => name !== names[i])) {
      throw new ConfigError(
        `loss: the shards of one batch returned different terms (${names.join(', ')} vs ${r.terms
          .map(([n]) => n)
          .join(', ')}); data-parallel steps need the same terms for every slice of a batch`,
      );
    }
  }
  const terms = names.map((name, i): [string, number] => {
    let sum = 0;
    results.forEach((r, s) => {
      sum += coefficients[s] * r.terms[i][1];
    });
    return [name, Math.fround(sum)];
  });
  const gradients = sizes.map((size, v) => {
    if (results.every((r) => r.gradients[v] === null)) return null;
    const acc = new Float64Array(size);
    results.forEach((r, s) => {
      const g = r.gradients[v];
      if (!g) return; // no gradient in this shard: zero
      const c = coefficients[s];
      for (let k = 0; k < size; k++) acc[k] += c * g[k];
    });
    return Float32Array.from(acc);
  });
  return { terms, gradients };
}
