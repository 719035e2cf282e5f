"""infereco benchmarks: prints one table of figures measured in this run (no assertions).

    python benchmarks/run_benchmarks.py [--quick] [--json OUT]

Figures: configuration evaluations per second; warm and cold time of the reference `erdil-grid` frontier for
Llama 3 70B on H100 against the numpy backend on the same inputs (ratio); the same with speculative decoding
(γ ≤ 20); a 10,000-frontier sweep; `import infereco` time; peak memory. Cold times run in a fresh process.
Ratios are measured in one run against the numpy baseline, since machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
from _host import cpu_model  # benchmarks/ is on sys.path when a script runs

HERE = os.path.dirname(os.path.abspath(__file__))

COLD_SNIPPET = """
import time, json
t0 = time.perf_counter()
import infereco
t1 = time.perf_counter()
from infereco import pareto_frontier
kw = {kw}
f = pareto_frontier("llama-3-70b", "h100-sxm", **kw)
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_frontier_s": t2 - t1, "points": len(f)}}))
"""


def _best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _cold(kw: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", COLD_SNIPPET.format(kw=repr(kw))],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sweep (1,000 frontiers) and fewer repeats")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    repeat = 2 if args.quick else 3

    import jax

    import infereco
    from infereco import pareto_frontier
    from infereco.search.evaluate import deployment_arrays, evaluate
    from infereco.specs.deployment import resolve
    from infereco.sweep import sweep

    rows: list[tuple[str, str]] = []
    figures: dict[str, float] = {}

    def record(name, value, fmt):
        figures[name] = value
        rows.append((name, fmt.format(value)))

    # 1. configuration evaluations per second, full model (all terms on).
    #    (a) the default search's configurations: one integer layout (TP, EP, PP, 1D/2D) × one batch each;
    #    (b) the reference grid's configurations: one (GPU count, batch) pair, the best of 8 candidate
    #        layouts.
    from infereco.search.discrete import DiscreteSpace, enumerate_layouts
    from infereco.search.evaluate import Layout

    p = resolve("llama-3-70b", "h100-sxm", context_length=1000, preset="erdil-2024", search="erdil-grid")
    ma, ha, _ = deployment_arrays(p)
    table = enumerate_layouts(p.model, 80e9, 1000, DiscreteSpace(max_gpus_per_instance=4096))
    rows_idx = np.arange(4096) % len(table)
    lay = Layout(*(np.asarray(a)[rows_idx][:, None] for a in table.as_layout(column=False)))
    b_row = np.round(np.geomspace(1, 5000, 1024))[None, :]
    n_cfg = 4096 * 1024

    def run_discrete():
        out = evaluate(ma, ha, p.conventions, None, b_row, 1000.0, layout=lay, on_device=True)
        jax.block_until_ready(out)

    run_discrete()
    t = _best_of(run_discrete, repeat)
    record("configurations/s, integer layouts × batches (JAX)", n_cfg / t, "{:.3g}")
    lay_flat = Layout(*(np.broadcast_to(np.asarray(a), (4096, 1024)).ravel()[:200_000] for a in lay))
    b_flat = np.broadcast_to(b_row, (4096, 1024)).ravel()[:200_000]
    t_np = _best_of(
        lambda: evaluate(ma, ha, p.conventions, None, b_flat, 1000.0, layout=lay_flat, backend="numpy"), 1
    )
    record("configurations/s, integer layouts × batches (numpy backend)", 200_000 / t_np, "{:.3g}")
    rng = np.random.default_rng(0)
    n_flat = 1_000_000
    n_gpu = 2.0 ** rng.uniform(0, 10, n_flat)
    batch = 2.0 ** rng.uniform(0, 14, n_flat)

    def run_grid():
        jax.block_until_ready(evaluate(ma, ha, p.conventions, n_gpu, batch, 1000.0, on_device=True))

    run_grid()
    t = _best_of(run_grid, repeat)
    record("configurations/s, continuous (best of 8 layouts each, JAX)", n_flat / t, "{:.3g}")

    # 2. erdil-grid frontier, Llama 3 70B on H100 (reference grid 400 × 400, 600 thresholds).
    kw = dict(context_length=1, preset="erdil-2024", search="erdil-grid")
    cold = _cold(kw)
    record("import infereco (fresh process), s", cold["import_s"], "{:.2f}")
    record("erdil-grid frontier, cold (compile included), s", cold["first_frontier_s"], "{:.2f}")
    pareto_frontier("llama-3-70b", "h100-sxm", **kw)
    warm = _best_of(lambda: pareto_frontier("llama-3-70b", "h100-sxm", **kw), repeat)
    numpy_t = _best_of(lambda: pareto_frontier("llama-3-70b", "h100-sxm", backend="numpy", **kw), 1)
    record("erdil-grid frontier, warm (JAX), s", warm, "{:.4f}")
    record("erdil-grid frontier, numpy backend, s", numpy_t, "{:.3f}")
    record("erdil-grid frontier speed-up, numpy / JAX warm", numpy_t / warm, "{:.1f}×")

    # 3. the same with speculative decoding (8B draft, α = 0.8, γ ≤ 20).
    skw = dict(kw, speculative={"draft": "llama-3-8b", "acceptance": 0.8, "max_draft_tokens": 20})
    cold_s = _cold(skw)
    record("spec-dec frontier (γ ≤ 20), cold, s", cold_s["first_frontier_s"], "{:.2f}")
    pareto_frontier("llama-3-70b", "h100-sxm", **skw)
    warm_s = _best_of(lambda: pareto_frontier("llama-3-70b", "h100-sxm", **skw), repeat)
    numpy_s = _best_of(lambda: pareto_frontier("llama-3-70b", "h100-sxm", backend="numpy", **skw), 1)
    record("spec-dec frontier, warm (JAX), s", warm_s, "{:.3f}")
    record("spec-dec frontier, numpy backend, s", numpy_s, "{:.2f}")
    record("spec-dec frontier speed-up, numpy / JAX warm", numpy_s / warm_s, "{:.1f}×")

    # 4. default (discrete) search, first and warm.
    pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)
    warm_d = _best_of(lambda: pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000), repeat)
    record("default discrete frontier, warm, s", warm_d, "{:.4f}")

    # 5. a market-wide sweep: 25 models × 10 accelerators × 8 contexts × 5 prices = 10,000 frontiers.
    models = infereco.list_models()
    extra = [
        {"base": m, "weight_bits": 8}
        for m in (
            "llama-3-70b",
            "llama-3.1-405b",
            "mixtral-8x22b",
            "mistral-large-2",
            "llama-3-8b",
            "qwen3-8b",
        )
    ]
    model_set = (models + extra)[:25]
    hw = [
        "h100-sxm",
        "h200",
        "b200",
        "a100-sxm-80g",
        "a800-80g",
        "v100-32g",
        "mi300x",
        "tpu-v4",
        "tpu-v5e",
        "gh200",
    ]
    ctx = [128, 1000, 2000, 4000, 8000, 16000, 32000, 100000]
    prices = [1.0, 1.5, 2.0, 3.0, 4.0]
    if args.quick:
        model_set, ctx = model_set[:10], ctx[:4]
    t = time.perf_counter()
    r = sweep(model_set, hw, ctx, prices, progress=True, keep_frontiers=False)
    t = time.perf_counter() - t
    record(f"sweep of {len(r):,} frontiers, s", t, "{:.1f}")
    record("sweep frontiers/s", len(r) / t, "{:.0f}")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record("peak resident memory, MiB", peak, "{:.0f}")

    width = max(len(k) for k, _ in rows)
    print(
        f"\ninfereco {infereco.__version__} benchmarks — {platform.machine()}, {os.cpu_count()} CPUs, "
        f"JAX {jax.__version__} on {jax.devices()[0].platform} × {jax.local_device_count()}, "
        f"Python {platform.python_version()}"
    )
    print(f"CPU: {cpu_model()}; load average at the end: {os.getloadavg()[0]:.1f}")
    print("─" * (width + 14))
    for k, v in rows:
        print(f"{k:<{width}}  {v:>10}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
