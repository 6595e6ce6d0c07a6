"""SciPy's linear_sum_assignment timed on request, for interleaved comparisons.

Reads one command per line on stdin: `<path.npy> <maximize 0|1>`; loads the float64 matrix
(outside the timing), times scipy.optimize.linear_sum_assignment on it and answers
`{"ms": ..., "cost": ...}` on stdout. Used by assignment-vs-scipy.mjs, which times ours on
the same matrix right before, so both see the same machine load.
"""
import json
import sys
import time

import numpy as np
import scipy.optimize

for line in sys.stdin:
    path, maximize = line.split()
    cost = np.load(path)
    t0 = time.perf_counter()
    rows, cols = scipy.optimize.linear_sum_assignment(cost, maximize=maximize == "1")
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms, "cost": float(cost[rows, cols].sum())}), flush=True)
