"""SciPy's linear_sum_assignment timed on request, for interleaved comparisons.

Reads one command per line on stdin: `<path.npy> <maximize 0|1>`; loads the float64 matrix
(outside the timing), times scipy.optimize.linear_sum_assignment on it and answers
`{"ms": ..., "cost": ...}` on stdout. `emd <a.npy> <b.npy>` times the exact EMD of two
[n, d] clouds as PointFlow-style Python code computes it (scipy cdist + linear_sum_assignment,
the mean matched Euclidean distance) and answers `{"ms": ..., "cpu_ms": ..., "emd": ...}`
(cpu_ms: this process's CPU time, which the machine's load inflates far less than ms). Used by assignment-vs-scipy.mjs, which times ours on
the same matrix right before, so both see the same machine load.
"""
import json
import sys
import time

import numpy as np
import scipy.optimize
import scipy.spatial.distance

for line in sys.stdin:
    words = line.split()
    if words[0] == "emd":
        a, b = np.load(words[1]), np.load(words[2])
        t0, c0 = time.perf_counter(), time.process_time()
        cost = scipy.spatial.distance.cdist(a, b)
        rows, cols = scipy.optimize.linear_sum_assignment(cost)
        emd = float(cost[rows, cols].mean())
        ms = (time.perf_counter() - t0) * 1000
        cpu_ms = (time.process_time() - c0) * 1000
        print(json.dumps({"ms": ms, "cpu_ms": cpu_ms, "emd": emd}), flush=True)
        continue
    path, maximize = words
    cost = np.load(path)
    t0 = time.perf_counter()
    rows, cols = scipy.optimize.linear_sum_assignment(cost, maximize=maximize == "1")
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms, "cost": float(cost[rows, cols].sum())}), flush=True)
