"""PyTorch peer of one-shot-set-vae.bench.mjs: one training step (forward, backward, gradient
clipping at 4, Adam) of the Top-n paper's one-shot set VAE with Top-n creation, written from
REFERENCES.md §7 and the model as @setgen/models builds it (same widths, same blocks, same
parameter count): batch 128 sets of n atoms (the reference's batches hold equal sizes),
latent 30, set channels 16, width 64, 4 heads, 3 + 3 post-LN attention blocks, Hungarian W
loss (scipy linear_sum_assignment per set on detached Euclidean costs) + KL + the
minimum-distance and valency penalties (sort of the distance rows, as the reference code).
CPU, float32, 1 thread by default (our wasm step is single-threaded; and on the shared 2-core
machine, 2 OpenMP threads under load made the same step 30x slower: 10 s instead of 0.3 s).
`cpu_ms` = median process CPU time of a step (summed over threads). `--threads 0` keeps
PyTorch's default thread count. Steady state, as in a training run of thousands of steps: 20
warm-up steps, then 20 timed (`--warmup`, `--runs`; the same defaults as ours, whose first ≈ 15
steps on one core are V8 compiling the step's code).
Run: /usr/bin/python3 bench/one-shot-set-vae_peer.py [--threads N] [--warmup 20] [--runs 20]"""
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from scipy.optimize import linear_sum_assignment

THREADS = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 1
if THREADS > 0:
    torch.set_num_threads(THREADS)
THREADS = torch.get_num_threads()
WARMUP = int(sys.argv[sys.argv.index('--warmup') + 1]) if '--warmup' in sys.argv else 20
RUNS = int(sys.argv[sys.argv.index('--runs') + 1]) if '--runs' in sys.argv else 20
torch.manual_seed(0)


class MAB(nn.Module):
    """SetVAE-variant MAB (no projection bias, LN(x + Wo·MH), LN(a + FFN(a)), scale 1/sqrt(d))."""

    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x):
        B, N, d = x.shape
        split = lambda t: t.reshape(B, N, self.h, d // self.h).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), -1) @ v
        a = self.ln1(x + self.o(a.transpose(1, 2).reshape(B, N, d)))
        return self.ln2(a + self.ff(a))


def mlp(i, h, o):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o))


class TopN(nn.Module):
    def __init__(self, n0, c, a, l):
        super().__init__()
        self.points = nn.Parameter(torch.randn(n0, c))
        angles = torch.randn(n0, a)
        self.angles = nn.Parameter(angles / (angles.norm(dim=1, keepdim=True) + 1e-5))
        self.angle_mlp = mlp(l, 32, a)
        self.lin1, self.lin2 = nn.Linear(1, c), nn.Linear(1, c)

    def forward(self, z, n):
        a = self.angle_mlp(z)
        a = a / (a.norm(dim=1, keepdim=True) + 1e-5)
        s = torch.softmax(a @ self.angles.t(), dim=1)
        srt, idx = torch.topk(s, n, dim=1)
        x = self.points[idx]
        cond = n * srt[..., None]
        return self.lin1(cond) * x + self.lin2(cond)


class OneShot(nn.Module):
    def __init__(self, d_in=7, l=30, c=16, d=64, heads=4, hidden=128, n0=35, blocks=3):
        super().__init__()
        self.l = l
        self.enc_in = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d), nn.ReLU())
        self.enc = nn.ModuleList(MAB(d, heads) for _ in range(blocks))
        self.enc_out = mlp(4 * d, hidden, 2 * l)
        self.creation = TopN(n0, c, 3, l)
        self.dec_in = nn.Linear(c, hidden)
        self.film_g, self.film_b = nn.Linear(l, hidden), nn.Linear(l, hidden)
        self.dec_mlp = nn.Linear(hidden, d)
        self.dec = nn.ModuleList(MAB(d, heads) for _ in range(blocks))
        self.dec_out = mlp(d, d, 3)

    def forward(self, x):
        h = self.enc_in(x)
        for b in self.enc:
            h = b(h)
        pooled = torch.cat([h.sum(1), h.mean(1), h.max(1)[0], (h.var(1, unbiased=False) + 1e-5).sqrt()], 1)
        stats = self.enc_out(torch.relu(pooled))
        mu, logvar = stats[:, :self.l], stats[:, self.l:]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        x0 = self.creation(z, x.shape[1])
        h = torch.relu(self.dec_in(x0))
        h = self.film_g(z)[:, None] * h + self.film_b(z)[:, None]
        h = torch.relu(self.dec_mlp(h))
        for b in self.dec:
            h = b(h)
        return self.dec_out(h), mu, logvar


def loss_fn(out, target, mu, logvar):
    cost = torch.cdist(out, target)
    idx = [linear_sum_assignment(c) for c in cost.detach().numpy()]
    recon = torch.stack([c[r, k].mean() for c, (r, k) in zip(cost, idx)]).sum()
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    d = torch.cdist(out, out)
    off = ~torch.eye(d.shape[1], dtype=torch.bool)[None].expand(d.shape[0], -1, -1)
    nn_loss = torch.relu(1 - d[off]).sum()
    srt = torch.sort(d, dim=2)[0][:, :, 1:]
    val = torch.relu(2 - srt[:, :, 4:]).sum() + torch.relu(srt[:, :, 0] - 2).sum()
    return recon + 0.003 * kl + 200 * nn_loss + 200 * val


def timed(name, fn, runs=10, warmup=2, **extra):
    times, cpu = [], []
    for r in range(warmup + runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        if r >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)  # all threads of the process
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print(json.dumps({"name": name, "median_ms": round(statistics.median(times), 3), "p10_ms": round(q(0.1), 3),
                      "p90_ms": round(q(0.9), 3), "runs": runs, "backend": "torch-cpu", "threads": THREADS,
                      "cpu_ms": round(statistics.median(cpu), 1), **extra}))


model = OneShot()
params = sum(p.numel() for p in model.parameters())
optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
rng = np.random.default_rng(0)
for n in (9, 20):
    x = torch.tensor(rng.uniform(-6, 6, size=(128, n, 7)), dtype=torch.float32)

    def step():
        optimizer.zero_grad()
        out, mu, logvar = model(x)
        loss = loss_fn(out, x[:, :, :3], mu, logvar)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 4.0)
        optimizer.step()
        return loss.item()

    timed(f"oneshot_step_topn_b128_n{n}", step, runs=RUNS, warmup=WARMUP, B=128, n=n, params=params)
