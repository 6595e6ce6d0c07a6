"""Float64 transcription of the Top-n reference's `constrained_loss` (cvignac/Top-N,
utils/metrics.py; REFERENCES.md §7.5), written from the code's definitions with numpy/scipy,
on seeded "generated" sets. Writes constrained-loss.json beside this file.

    /usr/bin/python3 make_constrained_loss.py
"""
import json
import os

import numpy as np
from scipy.optimize import linprog
from scipy.stats import wasserstein_distance

rng = np.random.default_rng(2022)
N_MAX, EXTRA = 35, 10
MIN_BOUND, MAX_BOUND = np.array([-6.0, -6.0, -6.0]), np.array([6.0, 6.0, 6.0])
MIN_DIST, NEIGHBOR_THRESHOLD = 1.0, 2.0
VAL_STATISTICS = [0.12, 0.38, 0.34, 0.16]          # dataset valencies 1..4 (config.val_statistics)
N_DIST = [0, 0, 0.05, 0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.05]  # dataset sizes 0..9 (config.n_dist)

# generated sets: a chain-like walk (bonds ~1.5), with a few atoms pushed out of the box or
# onto a neighbour, so every term is non-zero; inputs rounded to 6 decimals and stored as used
sets = []
for n in [2, 3, 5, 7, 8, 12]:
    x = np.zeros((n, 3))
    for i in range(1, n):
        step = rng.normal(size=3)
        x[i] = x[i - 1] + 1.5 * step / np.linalg.norm(step) * rng.uniform(0.5, 1.4)
    x += rng.uniform(-4, 4, size=3)
    if n >= 5:
        x[n - 1] = x[n - 2] + rng.normal(scale=0.3, size=3)
        x[0] += np.array([5.0, 0, 0])
    sets.append(np.round(x, 6))


def cdist(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def emd2_uniform(a, b):
    """POT's emd2([], [], M): exact OT between uniform measures, Euclidean cost (an LP)."""
    n, m = len(a), len(b)
    cost = cdist(a, b).ravel()
    rows = np.zeros((n, n * m))
    cols = np.zeros((m, n * m))
    for i in range(n):
        rows[i, i * m:(i + 1) * m] = 1
    for j in range(m):
        cols[j, j::m] = 1
    res = linprog(cost, A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([np.full(n, 1 / n), np.full(m, 1 / m)]),
                  bounds=(0, None), method='highs')
    assert res.status == 0
    return float(res.fun)


loss_total = [0.0] * 5
val_counts = np.zeros(N_MAX + EXTRA)
n_dist = np.zeros(N_MAX + EXTRA + 1)
points_total = 0
per_set = []
for x in sets:
    n_dist[x.shape[0]] += 1
    r = lambda t: np.maximum(t, 0)
    dist0 = sum(r(MIN_BOUND[c] - x[:, c]).sum() + r(x[:, c] - MAX_BOUND[c]).sum() for c in range(3))
    d = cdist(x, x)
    off = ~np.eye(len(x), dtype=bool)
    dist1 = r(MIN_DIST - d[off]).sum()
    valencies = (d < NEIGHBOR_THRESHOLD).sum(0) - 1
    for v in range(N_MAX + EXTRA):
        val_counts[v] += (valencies == v).sum()
    loss_total[0] += dist0
    loss_total[1] += dist1
    points_total += x.shape[0]
    per_set.append({'valencies': valencies.tolist(), 'bounding_box_sum': dist0, 'min_distance_sum': dist1})
loss_total[0] /= points_total
loss_total[1] /= points_total
val_counts = val_counts / val_counts.sum()
dataset_counts_long = np.zeros(val_counts.shape)
for i, v in enumerate(VAL_STATISTICS):
    dataset_counts_long[i + 1] = v
support = np.arange(N_MAX + EXTRA)
loss_total[2] = wasserstein_distance(support, support, val_counts, dataset_counts_long)
n_dist = n_dist / n_dist.sum()
dataset_n_dist = np.zeros(N_MAX + EXTRA + 1)
dataset_n_dist[:len(N_DIST)] = N_DIST
support_n = np.arange(N_MAX + EXTRA + 1)
loss_total[3] = wasserstein_distance(support_n, support_n, n_dist, dataset_n_dist)
# diversity: the reference draws npr.randint pairs; the pairs are stored so a port can replay them
pairs = rng.integers(0, len(sets), size=(12, 2))
pair_costs = [emd2_uniform(sets[i], sets[j]) for i, j in pairs]
loss_total[4] = float(np.sum(np.array(pair_costs) / len(pairs)))

sig = lambda v: float(f'{v:.10g}')
out = {
    'fixture': 'constrained-loss',
    'generated_by': 'make_constrained_loss.py (float64 transcription of Top-N utils/metrics.py constrained_loss)',
    'convention': 'Euclidean distances; bounding-box and min-distance sums divided by the total number of '
                  'generated points (pairs counted twice); valency = #{j != i : d_ij < 2}; valency and cardinality '
                  'W1 by scipy wasserstein_distance on integer supports 0..44 and 0..45 (dataset valencies 1..4 '
                  'shifted to indices 1..4); diversity = mean exact uniform OT cost over the stored pairs',
    'config': {'min_bound': MIN_BOUND.tolist(), 'max_bound': MAX_BOUND.tolist(), 'min_dist': MIN_DIST,
               'neighbor_threshold': NEIGHBOR_THRESHOLD, 'val_statistics': VAL_STATISTICS, 'n_dist': N_DIST},
    'sets': [s.tolist() for s in sets],
    'per_set': [{k: (sig(v) if isinstance(v, float) else v) for k, v in p.items()} for p in per_set],
    'pairs': pairs.tolist(),
    'pair_costs': [sig(c) for c in pair_costs],
    'constrained_loss': [sig(v) for v in loss_total],
    'names': ['bounding_box', 'min_distance', 'valency_w1', 'cardinality_w1', 'diversity'],
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'constrained-loss.json'), 'w') as f:
    json.dump(out, f, indent=1)
print(out['constrained_loss'])
