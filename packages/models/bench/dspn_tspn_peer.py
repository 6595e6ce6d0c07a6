#!/usr/bin/python3
"""PyTorch peer of bench/dspn-tspn.bench.mjs: one training step of DSPN and of TSPN at
Set-MNIST sizes (batch 32, 150 points padded to 342), written from the reference codes'
descriptions (REFERENCES.md sections 4-6): Cyanogenoid/dspn (FSEncoder, FSPool, the
second-order inner loop, Chamfer with smooth-L1 over the mask-augmented channels on every
intermediate set) and LukeBolly/tf-tspn (FSEncoder with sizes, post-LN Transformer,
Chamfer + size cross-entropy), with our TSPN preset's 16-d i.i.d. initial elements.

    /usr/bin/python3 bench/dspn_tspn_peer.py [--only dspn_step tspn_step] [--runs 5]
    /usr/bin/python3 bench/dspn_tspn_peer.py --serve

Prints one JSON line per case: {"bench", "median_ms", "min_ms", "max_ms", "runs", ...}.
With --serve (used by bench/dspn-tspn.bench.mjs to interleave its runs with ours) it builds
both cases, prints {"ready": true}, then for each line "<case>" on stdin runs ONE step and
prints {"bench": case, "ms": ...}; an empty line or EOF ends it.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
B, N, n_valid = 32, 342, 150


# ------------------------------------------------------------------ FSPool (fspool.py)
class FSPool(nn.Module):
    def __init__(self, channels, pieces):
        super().__init__()
        self.pieces = pieces
        self.weight = nn.Parameter(torch.randn(channels, pieces + 1))

    def forward(self, x, n=None):  # x [B, C, N]
        b, c, m = x.shape
        if n is None:
            n = torch.full((b,), m, dtype=torch.long)
        ratios = torch.arange(m, dtype=torch.float32).unsqueeze(0) / (n.float() - 1).clamp(min=1).unsqueeze(1)
        mask = (ratios <= 1).float().unsqueeze(1)  # [B, 1, N]
        ratios = ratios.clamp(max=1)
        t = self.pieces * ratios
        left = t.floor().long()
        frac = (t - left.float()).unsqueeze(1)
        right = (left + 1).clamp(max=self.pieces)
        w = self.weight.unsqueeze(0).expand(b, -1, -1)
        weight = (1 - frac) * w.gather(2, left.unsqueeze(1).expand(-1, c, -1)) + frac * w.gather(
            2, right.unsqueeze(1).expand(-1, c, -1))
        x = x + (1 - mask) * -99999
        sorted_x, _ = x.sort(dim=2, descending=True)
        return (sorted_x * weight * mask).sum(2)


def xavier(module):
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


# ------------------------------------------------------------------ DSPN (dspn/model.py, dspn.py)
class DSPNEncoder(nn.Module):
    def __init__(self, c, dim, latent):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(c + 1, dim, 1), nn.ReLU(), nn.Conv1d(dim, dim, 1), nn.ReLU(),
                                  nn.Conv1d(dim, latent, 1))
        self.pool = FSPool(latent, 20)

    def forward(self, x, mask):  # x [B, C, N], mask [B, N]
        h = self.conv(torch.cat([x, mask.unsqueeze(1)], 1)) / x.size(2)
        return self.pool(h)


class DSPN(nn.Module):
    def __init__(self, c=2, dim=256, latent=64, iters=10, lr=800):
        super().__init__()
        self.encoder = DSPNEncoder(c, dim, latent)
        xavier(self.encoder)
        self.starting_set = nn.Parameter(torch.rand(1, c, N))
        self.starting_mask = nn.Parameter(0.5 * torch.ones(1, N))
        self.iters, self.lr = iters, lr

    def forward(self, z):
        s = self.starting_set.expand(z.size(0), -1, -1)
        m = self.starting_mask.expand(z.size(0), -1).clamp(0, 1)
        sets, masks = [s], [m]
        for _ in range(self.iters):
            loss = F.smooth_l1_loss(self.encoder(s, m), z, reduction="mean")
            gs, gm = torch.autograd.grad(loss, [s, m], create_graph=True)
            s = s - self.lr * gs
            m = (m - self.lr * gm).clamp(0, 1)
            sets.append(s)
            masks.append(m)
        return sets, masks


def chamfer_huber(a, b):  # [B, C, N] each; all N positions
    cost = F.smooth_l1_loss(a.unsqueeze(3).expand(-1, -1, -1, b.size(2)),
                            b.unsqueeze(2).expand(-1, -1, a.size(2), -1), reduction="none").mean(1)
    return (cost.min(2)[0].mean(1) + cost.min(1)[0].mean(1)).mean()


def dspn_step_fn(x, mask):
    model = DSPN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    target = torch.cat([x, mask.unsqueeze(1)], 1)

    def step(_):
        z = model.encoder(x, mask)
        sets, masks = model(z)
        loss = torch.stack([chamfer_huber(torch.cat([s, m.unsqueeze(1)], 1), target)
                            for s, m in zip(sets, masks)]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step, sum(p.numel() for p in model.parameters())


def dspn_case(x, mask, runs):
    step, params = dspn_step_fn(x, mask)
    return bench("dspn_step", step, runs, params)


# ------------------------------------------------------------------ TSPN (tf-tspn models/)
class EncoderLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.o = nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, d), nn.LeakyReLU(0.2), nn.Linear(d, d))
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)

    def forward(self, x, pad):  # pad [B, N] 1 = padding
        b, m, d = x.shape
        split = lambda t: t.view(b, m, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        logits = q @ k.transpose(2, 3) / (d // self.heads) ** 0.5 - 1e9 * pad[:, None, None, :]
        a = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, m, d)
        x = self.ln1(x + self.o(a))
        return self.ln2(x + self.ff(x))


class TSPN(nn.Module):
    def __init__(self, c=2, hidden=256, latent=64, d=256, heads=4, layers=3, init_dim=16):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(c, hidden, 1), nn.LeakyReLU(0.2), nn.Conv1d(hidden, hidden, 1),
                                  nn.LeakyReLU(0.2), nn.Conv1d(hidden, latent, 1))
        self.pool = FSPool(latent, 20)
        self.head = nn.Sequential(nn.Linear(latent, latent), nn.LeakyReLU(0.2), nn.Linear(latent, latent))
        self.embed = nn.Conv1d(init_dim + latent, d, 1)
        self.layers = nn.ModuleList(EncoderLayer(d, heads) for _ in range(layers))
        self.out = nn.Conv1d(d, c, 1)
        self.size = nn.Sequential(nn.Linear(latent, 128), nn.ReLU(), nn.Linear(128, N))
        self.init_dim = init_dim

    def forward(self, x, sizes, pad):  # x [B, C, N]
        z = self.head(self.pool(self.conv(x), sizes))
        x0 = torch.randn(x.size(0), self.init_dim, x.size(2)) * (1 - pad).unsqueeze(1)
        h = self.embed(torch.cat([x0, z.unsqueeze(2).expand(-1, -1, x.size(2))], 1)).transpose(1, 2)
        for layer in self.layers:
            h = layer(h, pad)
        return self.out(h.transpose(1, 2)), self.size(z.detach())


def masked_chamfer_huber(a, b, valid):  # [B, C, N], valid [B, N]
    cost = F.smooth_l1_loss(a.unsqueeze(3).expand(-1, -1, -1, b.size(2)),
                            b.unsqueeze(2).expand(-1, -1, a.size(2), -1), reduction="none").mean(1)
    big = 1e9 * (1 - valid)
    rows = (cost + big.unsqueeze(1)).min(2)[0]
    cols = (cost + big.unsqueeze(2)).min(1)[0]
    count = valid.sum(1)
    return ((rows * valid).sum(1) / count + (cols * valid).sum(1) / count).mean()


def tspn_step_fn(x, mask):
    model = TSPN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sizes = mask.sum(1).long()
    pad = 1 - mask

    def step(_):
        pred, logits = model(x, sizes, pad)
        loss = masked_chamfer_huber(pred, x, mask) + F.cross_entropy(logits, sizes - 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step, sum(p.numel() for p in model.parameters())


def tspn_case(x, mask, runs):
    step, params = tspn_step_fn(x, mask)
    return bench("tspn_step", step, runs, params)


def serve(x, mask):
    import sys
    steps = {"dspn_step": dspn_step_fn(x, mask)[0], "tspn_step": tspn_step_fn(x, mask)[0]}
    print(json.dumps({"ready": True, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}),
          flush=True)
    for i, line in enumerate(sys.stdin):
        name = line.strip()
        if not name:
            break
        t0 = time.perf_counter()
        steps[name](i)
        print(json.dumps({"bench": name, "ms": round((time.perf_counter() - t0) * 1e3, 3)}), flush=True)


def bench(name, fn, runs, params, warmup=1):
    for i in range(warmup):
        fn(i)
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1e3)
    rec = {"bench": name, "median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
           "max_ms": round(max(times), 3), "runs": runs, "warmup": warmup,
           "params": {"B": B, "set_size": n_valid, "padded_to": N, "n_params": params},
           "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "nproc": os.cpu_count()}
    print(json.dumps(rec), flush=True)
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    x = torch.rand(B, 2, N)
    mask = (torch.arange(N).unsqueeze(0) < n_valid).float().expand(B, -1).contiguous()
    x = x * mask.unsqueeze(1)
    if args.serve:
        return serve(x, mask)
    for name, case in [("dspn_step", dspn_case), ("tspn_step", tspn_case)]:
        if args.only is None or any(name.startswith(p) for p in args.only):
            case(x, mask, args.runs)


if __name__ == "__main__":
    main()
