"""Sweep on an executor against the local sweep in one run: 4 models × 4 accelerators × 4 contexts × 2 prices.

    python benchmarks/bench_sweep_executor.py [--workers 2]

Prints the CPU model, the local time, a spawn-context process pool's time and (when installed) a local Dask
cluster's, and whether each run's rows equal the local ones. Worker start-up (importing JAX in each process)
is included: on a 2-core machine an executor pays off for sweeps of minutes, and on a cluster.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from _host import cpu_model  # benchmarks/ is on sys.path when a script runs

from infereco import sweep

ARGS = (
    ["llama-3-8b", "llama-3-70b", "qwen3-30b-a3b", "deepseek-r1"],
    ["h100-sxm", "h200", "b200", "mi300x"],
    [1000, 4000, 16000, 64000],
    [1.5, 2.5],
)


def _equal(a, b) -> bool:
    def same(x, y):
        return (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)) or x == y

    return len(a.rows) == len(b.rows) and all(
        r.keys() == w.keys() and all(same(r[k], w[k]) for k in r) for r, w in zip(a.rows, b.rows)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    n = ap.parse_args().workers
    print(f"CPU: {cpu_model()} ({multiprocessing.cpu_count()} logical cores); {len(ARGS[0]) * 32} frontiers")
    t = time.perf_counter()
    local = sweep(*ARGS, progress=False)
    t_local = time.perf_counter() - t
    print(f"local sweep                         {t_local:7.2f} s")
    t = time.perf_counter()
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = sweep(*ARGS, progress=False, executor=pool)
    took, same = time.perf_counter() - t, _equal(got, local)
    print(f"process pool, {n} workers (spawn)     {took:7.2f} s  rows equal: {same}")
    try:
        import distributed
    except ImportError:
        print("dask: not installed (pip install 'infereco[dask]')")
        return
    t = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = sweep(*ARGS, progress=False, executor=client.get_executor())
    took, same = time.perf_counter() - t, _equal(got, local)
    print(f"dask LocalCluster, {n} workers        {took:7.2f} s  rows equal: {same}")


if __name__ == "__main__":
    main()
