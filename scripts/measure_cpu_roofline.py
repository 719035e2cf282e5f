#!/usr/bin/env python3
"""Measure one CPU core's roofline: streaming memory bandwidth and dense matmul FLOP/s (fp32 and bf16).

Why: the vLLM CPU runs in tests/data/vllm_cpu_runs/ execute the model on one core (vLLM binds its worker's
OpenMP threads to core 0 on this 2-core machine), and the calibration needs that core's ceilings as the "peak"
numbers of a `HardwareSpec` (tests/data/calibration/cpu-2core-sandbox.yaml cites this script's output).

What it measures (each the best of `--repeats` timings, process pinned to `--core`, one thread everywhere):

- memory bandwidth, read: the best of three streaming reductions over a `--mib` MiB float32 array
  (`np.dot(a, a)` (BLAS sdot), `a.max()`, `np.add.reduce`; bytes read / s), the access pattern of a decode
  step reading weights;
- memory bandwidth, copy: `np.copyto` between two such arrays (bytes read + written / s);
- fp32 matmul: numpy (its BLAS) n×n @ n×n, 2n³ FLOP;
- bf16 and fp32 matmul in JAX (XLA CPU), bf16 operands with fp32 accumulation, jitted.

Usage:  python scripts/measure_cpu_roofline.py [--core 0] [--mib 512] [--n 2048] [--repeats 5] [--rounds 3]
                                              [--out FILE]

`--rounds N` repeats the whole set N times (a few seconds apart) and keeps the best figure of each kind: on a
shared machine the ceiling is the best observed, and every round's figures are kept in `rounds`.

It prints one JSON object (and writes it to --out). About 20-60 s. Other processes on the same core lower the
figures: run it on an otherwise idle machine and look at `loadavg` in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def _pin(core: int | None) -> list[int]:
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _cpu_model() -> dict:
    info = {"model_name": platform.processor() or None, "bf16_instructions": None}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            text = fh.read()
        for line in text.splitlines():
            if line.startswith("model name") and info.get("model_name") in (None, "", "x86_64"):
                info["model_name"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                info["bf16_instructions"] = sorted(flags & {"avx512_bf16", "amx_bf16", "avx_ne_convert"})
                info["avx512f"] = "avx512f" in flags
                break
    except OSError:
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", type=int, default=0, help="core to pin to (default 0, where vLLM's worker ran)")
    ap.add_argument("--mib", type=int, default=512, help="array size for the bandwidth tests, MiB")
    ap.add_argument("--n", type=int, default=2048, help="matrix size for the matmul tests")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="repeat everything N times, keep the best of each")
    ap.add_argument("--skip-jax", action="store_true")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)

    # One thread everywhere, set before numpy / jax load their thread pools.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()
    cores = _pin(args.core)

    import numpy as np

    out: dict = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "cores_pinned": cores,
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "loadavg_before": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "method": "best of repeats, one pinned core, one thread; see the script's docstring",
    }

    rounds = []
    for i in range(max(args.rounds, 1)):
        if i:
            time.sleep(3.0)
        rounds.append(_measure(np, args))
    for key in rounds[0]:
        vals = [r[key] for r in rounds if isinstance(r.get(key), float)]
        out[key] = max(vals) if vals else rounds[0][key]
    out["memory_read_bytes_per_s_by_kernel"] = {
        k: max(r["memory_read_bytes_per_s_by_kernel"][k] for r in rounds)
        for k in rounds[0]["memory_read_bytes_per_s_by_kernel"]
    }
    out["rounds"] = rounds
    out["loadavg_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    fp32 = max(out.get("numpy_fp32_matmul_flop_per_s", 0.0), out.get("jax_fp32_matmul_flop_per_s", 0.0))
    out["summary"] = {
        "memory_bandwidth_bytes_per_s (read)": out["memory_read_bytes_per_s"],
        "fp32_flop_per_s (best of numpy, JAX)": fp32,
        # bf16 operands can always be widened to fp32, so the attainable 16-bit rate is the better of the two.
        "bf16_operand_flop_per_s (best of JAX bf16, fp32)": max(
            out.get("jax_bf16_matmul_flop_per_s", 0.0), fp32
        ),
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


def _measure(np, args) -> dict:
    out: dict = {}
    n_el = args.mib * 2**20 // 4
    a = np.ones(n_el, dtype=np.float32)
    b = np.empty_like(a)
    reads = {"dot": lambda: np.dot(a, a), "max": lambda: a.max(), "add.reduce": lambda: np.add.reduce(a)}
    out["memory_read_bytes_per_s_by_kernel"] = {
        k: a.nbytes / _best(f, args.repeats) for k, f in reads.items()
    }
    t_copy = _best(lambda: np.copyto(b, a), args.repeats)
    out["memory_read_bytes_per_s"] = max(out["memory_read_bytes_per_s_by_kernel"].values())
    out["memory_copy_bytes_per_s"] = 2 * a.nbytes / t_copy
    a = b = None  # free the arrays before the matmuls

    n = args.n
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, n), dtype=np.float32)
    y = rng.standard_normal((n, n), dtype=np.float32)
    t_mm = _best(lambda: x @ y, args.repeats)
    out["numpy_fp32_matmul_flop_per_s"] = 2.0 * n**3 / t_mm
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.25
        out["numpy_blas"] = cfg.get("Build Dependencies", {}).get("blas", {}).get("name")
    except Exception:  # noqa: BLE001 - informational only
        out["numpy_blas"] = None

    if not args.skip_jax:
        try:
            import jax
            import jax.numpy as jnp

            out["jax"] = jax.__version__

            def timed(dtype):
                xa = jnp.asarray(x, dtype=dtype)
                ya = jnp.asarray(y, dtype=dtype)
                f = jax.jit(lambda p, q: jnp.matmul(p, q, preferred_element_type=jnp.float32))
                return _best(lambda: f(xa, ya).block_until_ready(), args.repeats)

            out["jax_bf16_matmul_flop_per_s"] = 2.0 * n**3 / timed(jnp.bfloat16)
            out["jax_fp32_matmul_flop_per_s"] = 2.0 * n**3 / timed(jnp.float32)
        except Exception as exc:  # noqa: BLE001 - report, don't fail the bandwidth numbers
            out["jax_error"] = f"{type(exc).__name__}: {exc}"
    return out


if __name__ == "__main__":
    raise SystemExit(main())
