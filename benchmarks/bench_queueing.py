"""Time of the queueing model of tail latencies over 1000 loads against the discrete-event simulation.

    python benchmarks/bench_queueing.py [--loads N] [--sim-loads M] [--requests R] [--json OUT]

For each engine setting (prefill first; chunked prefill; variable lengths) it times
`infereco.serving.latency_quantiles` over N loads from 1% to 99% of capacity (one vectorised call, best of 3),
and `infereco.serving.simulate` over M of those loads with R requests each, reporting the simulation's time
per load and its extrapolation to all N loads. Prints the CPU model from /proc/cpuinfo; no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from _host import cpu_model  # benchmarks/ is on sys.path when a script runs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from infereco.serving import EngineModel, TokenLengths, latency_quantiles, simulate  # noqa: E402

BASE = dict(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01, prefill_tokens_per_s=20000)
CASES = {
    "prefill first, 256 slots, 1000/100 tokens": (EngineModel.linear(**BASE, max_seqs=256), 1000, 100),
    "chunked 512, 256 slots, 1000/100 tokens": (
        EngineModel.linear(**BASE, max_seqs=256, chunk_tokens=512),
        1000,
        100,
    ),
    "prefill first, 1024 slots, uniform [200,1800]/[20,300]": (
        EngineModel.linear(**BASE, max_seqs=1024),
        {"uniform": [200, 1800]},
        {"uniform": [20, 300]},
    ),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=1000)
    ap.add_argument("--sim-loads", type=int, default=10)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores visible); python {platform.python_version()}")
    print(f"{'engine':58s} {f'queueing, {a.loads} loads':>22s} {'DES per load':>14s} {'DES, all loads':>16s}")
    out = []
    for name, (e, p, o) in CASES.items():
        cap = e.capacity_requests_per_s(TokenLengths.coerce(p, "p").mean, TokenLengths.coerce(o, "o").mean)
        lam = np.linspace(0.01, 0.99, a.loads) * cap
        latency_quantiles(e, requests_per_s=lam[:8], input_tokens=p, output_tokens=o)  # warm the imports
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            latency_quantiles(e, requests_per_s=lam, input_tokens=p, output_tokens=o)
            best = min(best, time.perf_counter() - t0)
        sim_lam = lam[np.linspace(0, a.loads - 1, a.sim_loads).astype(int)]
        t0 = time.perf_counter()
        for i, x in enumerate(sim_lam):
            simulate(
                e, requests_per_s=float(x), input_tokens=p, output_tokens=o, n_requests=a.requests, seed=i
            )
        per = (time.perf_counter() - t0) / a.sim_loads
        print(f"{name:58s} {best:20.3f} s {per:12.3f} s {per * a.loads:14.1f} s")
        out.append(
            {
                "engine": name,
                "loads": a.loads,
                "queueing_s": best,
                "des_s_per_load": per,
                "des_requests_per_load": a.requests,
                "des_s_all_loads": per * a.loads,
            }
        )
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_model(), "results": out}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
