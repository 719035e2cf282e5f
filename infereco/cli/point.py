"""`infereco point`: evaluate one named deployment (model, hardware, TP/EP/PP, batch)."""

from __future__ import annotations

from infereco.api import evaluate_point
from infereco.errors import InfeasibleError
from infereco.cli._common import add_output_options, fmt, print_json, print_records_csv, table

SHOW = [("tokens/s per request", "tokens_per_s_per_request"), ("$ per M output tokens", "usd_per_million_tokens"),
        ("GPUs", "n_gpu"), ("batch", "batch_size"), ("TP", "tp"), ("EP", "ep"), ("PP", "pp"), ("2D TP", "tp_2d"),
        ("MFU", "mfu"), ("bound", "bound"), ("step time, ms", "latency_ms"), ("HBM time, ms", "memory_ms"),
        ("arithmetic, ms", "compute_ms"), ("network bandwidth, ms", "network_bandwidth_ms"),
        ("collective latency, ms", "network_latency_ms"), ("kernel launches, ms", "launch_ms"),
        ("instance throughput, tok/s", "throughput_tokens_per_s"), ("KV capacity, tokens", "kv_capacity_tokens"),
        ("largest batch that fits", "max_batch")]


def register(sub) -> None:
    p = sub.add_parser("point", help="evaluate one deployment: speed, cost, MFU and where the time goes",
                       description="Evaluate one deployment. Example: infereco point --model llama-3-70b "
                       "--hardware h100-sxm --tp 8 --batch 64 --context-length 4000")
    p.add_argument("--model", required=True, help="catalog model id")
    p.add_argument("--hardware", required=True, help="catalog hardware id")
    p.add_argument("--tp", type=int, default=None, help="tensor-parallel degree per expert group")
    p.add_argument("--ep", type=int, default=1, help="expert-parallel degree")
    p.add_argument("--pp", type=int, default=1, help="pipeline-parallel degree")
    p.add_argument("--tp-2d", action="store_true", help="2D tensor parallelism (stage size a perfect square)")
    p.add_argument("--attn-dp", action="store_true", help="data-parallel attention (MLA models)")
    p.add_argument("--n-gpu", type=float, default=None, help="instead of a layout: GPUs (continuous model)")
    p.add_argument("--batch", type=float, required=True, help="concurrent sequences")
    p.add_argument("--context-length", type=int, default=1000, help="tokens in context")
    p.add_argument("--preset", default="default", help="default, erdil-2024, erdil-paper")
    p.add_argument("--engine", default="vllm", help="memory-fit rule: vllm, sglang, trtllm, ideal")
    p.add_argument("--price", type=float, default=None, help="USD per accelerator-hour")
    p.add_argument("--tornado", metavar="FILE", help="write a tornado plot of the elasticities of $/M tokens "
                   "(jax.grad) with respect to price, bandwidths, FLOP/s, latencies and utilisation")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.tp is None and args.n_gpu is None:
        args.tp = 1
    try:
        q = evaluate_point(args.model, args.hardware, batch_size=args.batch, n_gpu=args.n_gpu, tp=args.tp, ep=args.ep,
                           pp=args.pp, tp_2d=args.tp_2d, attn_dp=args.attn_dp, context_length=args.context_length,
                           preset=args.preset, engine=args.engine, price_usd_per_hour=args.price)
    except InfeasibleError as exc:  # exit 3: the input is valid, the deployment cannot run
        if args.json:
            print_json({"feasible": False, "reason": str(exc)})
        else:
            print(f"infeasible: {exc}")
        return 3
    q["feasible"] = True
    if args.json:
        print_json(q)
        return 0
    if args.csv:
        print_records_csv([q])
        return 0
    for k in ("latency", "memory", "compute", "network_bandwidth", "network_latency", "launch"):
        q[f"{k}_ms"] = q[f"{k}_s"] * 1e3
    rows = [[label, q.get(key)] for label, key in SHOW if key in q]
    print(f"{args.model} on {args.hardware}, context {args.context_length:,} tokens, preset {args.preset}\n")
    print(table(rows, ["quantity", "value"]))
    if args.tornado:
        from infereco.economics.sensitivity import cost_elasticities
        from infereco.plot.economics import plot_tornado

        el = cost_elasticities(args.model, args.hardware, tp=args.tp, ep=args.ep, pp=args.pp, tp_2d=args.tp_2d,
                               batch_size=args.batch, context_length=args.context_length, preset=args.preset,
                               price_usd_per_hour=args.price, engine=args.engine) if args.n_gpu is None else \
            cost_elasticities(args.model, args.hardware, n_gpu=args.n_gpu, batch_size=args.batch,
                              context_length=args.context_length, preset=args.preset, price_usd_per_hour=args.price)
        ax = plot_tornado(el)
        ax.figure.savefig(args.tornado, dpi=130, bbox_inches="tight")
        print(f"tornado plot written to {args.tornado}")
    if args.plot:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3))
        parts = [("HBM", q["memory_ms"]), ("arithmetic", q["compute_ms"]), ("net bw", q["network_bandwidth_ms"]),
                 ("collective lat.", q["network_latency_ms"]), ("launches", q["launch_ms"])]
        ax.barh([p[0] for p in parts], [p[1] for p in parts], color="#1b4f72", hatch="//")
        ax.set_xlabel("time per step (ms); HBM and arithmetic overlap")
        ax.set_title(f"{args.model} on {args.hardware}: {fmt(q['tokens_per_s_per_request'])} tok/s per request")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=130)
        print(f"plot written to {args.plot}")
    return 0
