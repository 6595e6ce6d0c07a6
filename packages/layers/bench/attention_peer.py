"""PyTorch peer of attention.bench.mjs's `mab_fwd_b16_n2048_d64_h4`: juho-lee/set_transformer's
MAB (projections with bias, heads as contiguous feature chunks, softmax(Q Kᵀ / sqrt(dim_V)),
O = Q + A V, O + relu(fc_o(O)), no LayerNorm), self-attention MAB(X, X) on X [16, 2048, 64],
4 heads, forward only under no_grad, float32 on the CPU with 2 threads (as
/work/shared/peer/peer_bench.py's case of the same name; it materialises the [64, 2048, 2048]
attention maps). Written from REFERENCES.md §1.1.

    /usr/bin/python3 bench/attention_peer.py            one JSON line (median of --runs)
    /usr/bin/python3 bench/attention_peer.py --serve    used by attention.bench.mjs: prints
        {"ready": true, ...}, then for each line "<case>" on stdin runs ONE forward and prints
        {"bench": case, "ms": ...}; an empty line or EOF ends it.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
B, N, DIM, HEADS = 16, 2048, 64, 4


class MAB(nn.Module):
    """MAB(Q, K) of juho-lee/set_transformer (modules.py), ln=False."""

    def __init__(self, dim_q, dim_k, dim_v, heads):
        super().__init__()
        self.dim_v, self.heads = dim_v, heads
        self.fc_q, self.fc_k, self.fc_v = nn.Linear(dim_q, dim_v), nn.Linear(dim_k, dim_v), nn.Linear(dim_k, dim_v)
        self.fc_o = nn.Linear(dim_v, dim_v)

    def forward(self, q_in, k_in):
        q, k, v = self.fc_q(q_in), self.fc_k(k_in), self.fc_v(k_in)
        split = self.dim_v // self.heads
        q_, k_, v_ = (torch.cat(t.split(split, 2), 0) for t in (q, k, v))
        a = torch.softmax(q_.bmm(k_.transpose(1, 2)) / math.sqrt(self.dim_v), 2)
        o = torch.cat((q_ + a.bmm(v_)).split(q.size(0), 0), 2)
        return o + F.relu(self.fc_o(o))


def cases():
    torch.manual_seed(4)
    mab = MAB(DIM, DIM, DIM, HEADS).eval()
    x = torch.randn(B, N, DIM)

    def mab_fwd():
        with torch.no_grad():
            mab(x, x)

    return {"mab_fwd_b16_n2048_d64_h4": mab_fwd}


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    fns = cases()
    if args.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}),
              flush=True)
        for line in sys.stdin:
            name = line.strip()
            if not name:
                break
            print(json.dumps({"bench": name, "ms": round(timed(fns[name]), 3)}), flush=True)
        return
    for name, fn in fns.items():
        fn()  # warm-up
        times = [timed(fn) for _ in range(args.runs)]
        print(json.dumps({"bench": name, "median_ms": round(statistics.median(times), 3), "runs": args.runs,
                          "torch": torch.__version__, "torch_threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
