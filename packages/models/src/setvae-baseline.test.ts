// SetVAE's numbers must not move: losses of 20 seeded steps (trainStep, and fit with the
// β warm-up and the LR decay) recorded from the pre-runtime implementation, and a
// checkpoint written by it (format setgen-checkpoint v1) that loads and continues. Those
// were recorded with LayerNorm as composed tfjs ops, so they run with @setgen/ops' fused
// LayerNorm kernel switched off (FUSED_LAYER_NORM_FLAG): everything else must still give
// them bit for bit. The fused kernel sums in another order (float32 rounding): its 20 steps
// are recorded separately (`<backend>/trainStep/fusedLayerNorm`, Dec 2026) and must stay
// within 1e-5 of the composed run's. The same holds for the masked-softmax kernel of
// attention (FUSED_SOFTMAX_FLAG, Dec 2026): off for the recorded numbers, and with every
// fused kernel on the 20 steps are recorded as `<backend>/trainStep/fused`, within 1e-5 too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUSED_LAYER_NORM_FLAG, FUSED_SOFTMAX_FLAG } from '@setgen/ops/internal';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { epochs, padded, ringSets } from './__fixtures__/ring-sets.js';
import { tinySetVAE as tiny } from './__fixtures__/tiny-setvae.js';
import { loadModel, SetVAE } from './node.js';

const fixtures = join(import.meta.dirname, '__fixtures__');
const baseline = JSON.parse(readFileSync(join(fixtures, 'setvae-baseline.json'), 'utf8')) as Record<
  string,
  { losses?: Record<string, number>; lr?: number; beta?: number; step?: number; epoch?: number }[]
>;

describeBackends(
  'SetVAE numbers (recorded before the runtime)',
  (backend) => {
    beforeEach(() => {
      tf.env().set(FUSED_LAYER_NORM_FLAG, false);
      tf.env().set(FUSED_SOFTMAX_FLAG, false);
    });
    afterEach(() => tf.env().reset());

    it('20 trainStep losses are identical', () => {
      const model = new SetVAE(tiny);
      const batch = padded(ringSets([8, 6, 7, 5], 12));
      const losses = Array.from({ length: 20 }, () => model.trainStep(batch).losses);
      expect(losses).toEqual(baseline[`${backend}/trainStep`]);
      tf.dispose([batch.x, batch.mask]);
      model.dispose();
    });

    for (const [name, key, flags] of [
      ['the fused LayerNorm kernel', 'fusedLayerNorm', [FUSED_LAYER_NORM_FLAG]],
      [
        'every fused kernel (LayerNorm, masked softmax)',
        'fused',
        [FUSED_LAYER_NORM_FLAG, FUSED_SOFTMAX_FLAG],
      ],
    ] as const) {
      it(`20 trainStep losses with ${name}: as recorded, within 1e-5 of the composed ops`, () => {
        for (const flag of flags) tf.env().set(flag, true);
        const model = new SetVAE(tiny);
        const batch = padded(ringSets([8, 6, 7, 5], 12));
        const losses = Array.from({ length: 20 }, () => model.trainStep(batch).losses);
        const composed = baseline[`${backend}/trainStep`] as unknown as Record<string, number>[];
        losses.forEach((step, i) => {
          for (const [term, value] of Object.entries(step)) {
            expect(Math.abs(value - composed[i][term]), `step ${i} ${term}`).toBeLessThan(
              1e-5 * Math.abs(value),
            );
          }
        });
        expect(losses).toEqual(baseline[`${backend}/trainStep/${key}`]);
        tf.dispose([batch.x, batch.mask]);
        model.dispose();
      });
    }

    it('20 fit steps with β warm-up and LR decay are identical (losses, learning rates, β)', async () => {
      const model = new SetVAE({ ...tiny, epochs: 4, klWarmupEpochs: 2, learningRate: 5e-3 });
      const data = ringSets([5, 6, 7, 8, 9, 5, 6, 9, 7, 8, 6, 5, 9, 8, 7, 6, 5, 7, 8, 9], 21);
      const rows: unknown[] = [];
      await model.fit(epochs(data, 7, 4), {
        onProgress: (p) => {
          rows.push({
            step: p.step,
            epoch: p.epoch,
            lr: p.learningRate,
            beta: p.weights.kl,
            losses: p.losses,
          });
        },
      });
      expect(rows).toEqual(baseline[`${backend}/fit`]);
      // the schedules did act (β and LR are read before each step, 5 steps per epoch): β rose
      // linearly from 0 to 0.01 over 2 epochs; the LR stayed 5e-3 to epoch 2, then fell linearly
      const recorded = baseline[`${backend}/fit`];
      expect(recorded[0].beta).toBe(0);
      expect(recorded[5].beta).toBeCloseTo(0.005, 15);
      expect(recorded[9].beta).toBeCloseTo(0.009, 15);
      expect(recorded[10].beta).toBe(0.01);
      expect(recorded[10].lr).toBe(5e-3);
      expect(recorded[15].lr).toBeCloseTo(2.5e-3, 15);
      expect(recorded[19].lr).toBeCloseTo(5e-4, 12);
      model.dispose();
    });
  },
  ['cpu', 'wasm'],
);

describeBackends('SetVAE checkpoints of format v1', () => {
  beforeEach(() => {
    tf.env().set(FUSED_LAYER_NORM_FLAG, false);
    tf.env().set(FUSED_SOFTMAX_FLAG, false);
  });
  afterEach(() => tf.env().reset());

  it('load (SetVAE.load and loadModel) and continue exactly as the run that wrote them', async () => {
    const path = join(fixtures, 'setvae-v1-checkpoint');
    const next = JSON.parse(readFileSync(`${path}.next.json`, 'utf8'));
    const model = await SetVAE.load(path);
    expect(model.step).toBe(3);
    expect(model.epoch).toBe(0.75);
    expect(model.sampleSizes(50, { seed: 1 }).every((n) => [3, 4, 6].includes(n))).toBe(true);
    const x = tf.tensor3d(next.x, [3, 6, 2]);
    const mask = tf.tensor2d(next.mask, [3, 6]);
    const steps = [0, 1, 2].map(() => model.trainStep({ x, mask }));
    expect(steps.map((s) => s.losses)).toEqual(next.next.map((s: { losses: unknown }) => s.losses));
    expect(steps.map((s) => s.weights.kl)).toEqual(next.next.map((s: { beta: number }) => s.beta));
    const same = await loadModel(path);
    expect(same).toBeInstanceOf(SetVAE);
    same.dispose();
    await expectNoLeak(async () => (await SetVAE.load(path)).dispose());
    tf.dispose([x, mask]);
    model.dispose();
  });
}, ['cpu']);
