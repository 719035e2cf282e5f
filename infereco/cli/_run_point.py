"""Handler of `infereco point` (parser: infereco/cli/point.py)."""

from __future__ import annotations

from matplotlib.figure import Figure  # no pyplot: no global figure state

from infereco.api import evaluate_point
from infereco.cli._common import fmt, print_json, print_records_csv, table
from infereco.cli._run_common import describe_model
from infereco.economics.sensitivity import cost_elasticities
from infereco.errors import InfeasibleError
from infereco.plot.economics import plot_tornado
from infereco.specs.hf_config import load_hf_config

# MFU is a percentage in the table (the JSON and CSV keep the fraction, `mfu`).

SHOW = [
    ("tokens/s per request", "tokens_per_s_per_request"),
    ("$ per M output tokens", "usd_per_million_tokens"),
    ("GPUs", "n_gpu"),
    ("batch", "batch_size"),
    ("TP", "tp"),
    ("EP", "ep"),
    ("PP", "pp"),
    ("2D TP", "tp_2d"),
    ("MFU %", "mfu_pct"),
    ("bound", "bound"),
    ("step time, ms", "latency_ms"),
    ("HBM time, ms", "memory_ms"),
    ("arithmetic, ms", "compute_ms"),
    ("network bandwidth, ms", "network_bandwidth_ms"),
    ("collective latency, ms", "network_latency_ms"),
    ("kernel launches, ms", "launch_ms"),
    ("instance throughput, tok/s", "throughput_tokens_per_s"),
    ("KV capacity, tokens", "kv_capacity_tokens"),
    ("largest batch that fits", "max_batch"),
]


def run(args) -> int:
    if args.tp is None and args.n_gpu is None:
        args.tp = 1
    model, label, header = args.model, args.model, None
    if args.config:
        model = load_hf_config(args.config, weight_bits=args.weight_bits)
        label, header = model.name, describe_model(model, args.config)
    # The deployment, as evaluate_point and cost_elasticities both take it.
    common = dict(
        batch_size=args.batch,
        context_length=args.context_length,
        preset=args.preset,
        price_usd_per_hour=args.price,
        engine=args.engine,
    )
    layout = (
        dict(n_gpu=args.n_gpu)
        if args.n_gpu is not None
        else dict(tp=args.tp, ep=args.ep, pp=args.pp, tp_2d=args.tp_2d)
    )
    try:
        q = evaluate_point(model, args.hardware, attn_dp=args.attn_dp, **layout, **common)
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
    q["mfu_pct"] = 100 * q["mfu"]
    rows = [[name, q.get(key)] for name, key in SHOW if key in q]
    if header:
        print(header)
    print(f"{label} on {args.hardware}, context {args.context_length:,} tokens, preset {args.preset}\n")
    print(table(rows, ["quantity", "value"]))
    if args.tornado:
        el = cost_elasticities(model, args.hardware, **layout, **common)
        ax = plot_tornado(el)
        ax.figure.savefig(args.tornado, dpi=130, bbox_inches="tight")
        print(f"tornado plot written to {args.tornado}")
    if args.plot:
        fig = Figure(figsize=(6, 3))
        ax = fig.subplots()
        parts = [
            ("HBM", q["memory_ms"]),
            ("arithmetic", q["compute_ms"]),
            ("net bw", q["network_bandwidth_ms"]),
            ("collective lat.", q["network_latency_ms"]),
            ("launches", q["launch_ms"]),
        ]
        ax.barh([p[0] for p in parts], [p[1] for p in parts], color="#1b4f72", hatch="//")
        ax.set_xlabel("time per step (ms); HBM and arithmetic overlap")
        ax.set_title(f"{label} on {args.hardware}: {fmt(q['tokens_per_s_per_request'])} tok/s per request")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=130)
        print(f"plot written to {args.plot}")
    return 0
