"""PyTorch counterparts of creation.bench.mjs (same names and sizes), written from the
descriptions in shared/docs/REFERENCES.md §5 (FSPool) and §7.1 (Top-n). CPU, 2 threads,
float32. Run: /usr/bin/python3 bench/creation_peer.py"""
import json
import statistics
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(0)


def timed(name, fn, runs=9, warmup=1, **extra):
    times = []
    for r in range(warmup + runs):
        t0 = time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1000
        if r >= warmup:
            times.append(dt)
    print(json.dumps({"name": name, "median_ms": round(statistics.median(times), 3), "runs": runs,
                      "backend": "torch-cpu", **extra}))


# ---- FSPool, [B, C, N] layout as the reference, sizes given
B, N, C, K = 32, 342, 64, 20
sizes = torch.randint(100, N + 1, (B,))
x = torch.randn(B, C, N)
W = torch.randn(C, K + 1, requires_grad=True)


def fspool(x, n):
    ratio = torch.arange(N, dtype=torch.float32)[None] / (n.float() - 1).clamp(min=1)[:, None]
    valid = (ratio <= 1).float()[:, None, :]
    ratio = ratio.clamp(max=1)
    t = (K * ratio)[:, None, :].expand(B, C, N)
    k = t.long()
    f = t - k
    Wb = W[None].expand(B, C, K + 1)
    w = (1 - f) * Wb.gather(2, k) + f * Wb.gather(2, (k + 1).clamp(max=K))
    xs, _ = (x + (1 - valid) * -99999).sort(dim=2, descending=True)
    return (xs * w * valid).sum(2)


def fwd():
    with torch.no_grad():
        fspool(x, sizes)


def fwd_bwd():
    W.grad = None
    fspool(x, sizes).square().sum().backward()


timed("fspool_fwd_b32_n342_c64", fwd, B=B, N=N, C=C, mode="forward")
timed("fspool_fwd_bwd_b32_n342_c64", fwd_bwd, B=B, N=N, C=C, mode="forward+backward (weights)")

# ---- Top-n creation
TB, n0, A, TC, L, n = 128, 35, 3, 16, 30, 20
points = torch.randn(n0, TC, requires_grad=True)
angles = torch.nn.functional.normalize(torch.randn(n0, A), dim=1).requires_grad_()
mlp1, mlp2 = torch.nn.Linear(L, 32), torch.nn.Linear(32, A)
lin1, lin2 = torch.nn.Linear(1, TC), torch.nn.Linear(1, TC)
z = torch.randn(TB, L)
params = [points, angles, *mlp1.parameters(), *mlp2.parameters(), *lin1.parameters(), *lin2.parameters()]


def topn_fwd_bwd():
    for p in params:
        p.grad = None
    a = mlp2(torch.relu(torch.relu(mlp1(z))))
    a = a / (a.norm(dim=1, keepdim=True) + 1e-5)
    s = torch.softmax(angles @ a.T, dim=0).T
    top, idx = s.topk(n, dim=1)
    t = (n * top)[..., None]
    out = lin1(t) * points[idx] + lin2(t)
    out.square().sum().backward()


timed("topn_fwd_bwd_b128_n20", topn_fwd_bwd, B=TB, n0=n0, C=TC, n=n, mode="create + backward (all weights)")
