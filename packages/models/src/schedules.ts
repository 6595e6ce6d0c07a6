// Training schedules of SetVAE (paper App. D; reference `criterion.py` and the 'linear'
// LR scheduler, REFERENCES.md §2.6). Epochs may be fractional: `fit` advances them per step.

/**
 * Learning-rate factor: 1 for the first half of training, then linear to 0 at `totalEpochs`
 * ("decayed the learning rate linearly to zero after 50% of the training schedule").
 */
export function linearDecayAfterHalf(epoch: number, totalEpochs: number): number {
  const half = totalEpochs / 2;
  if (half <= 0) return 1;
  return Math.max(0, 1 - Math.max(0, epoch - half) / half);
}

/** β of Eq. 25 annealed linearly from 0 to `beta` over `warmupEpochs` (0 = no warm-up). */
export function klWeight(epoch: number, beta: number, warmupEpochs: number): number {
  if (warmupEpochs <= 0) return beta;
  return beta * Math.min(1, Math.max(0, epoch) / warmupEpochs);
}
