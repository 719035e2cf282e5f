"""Handler of `infereco sweep` (parser: infereco/cli/sweep.py)."""

from __future__ import annotations

from infereco.cli._common import print_json, print_records_csv, table
from infereco.plot.frontier import plot_frontier
from infereco.sweep import sweep


def run(args) -> int:
    r = sweep(
        args.models,
        args.hardware,
        args.contexts,
        args.prices,
        preset=args.preset,
        search=args.search,
        alpha=args.alpha,
        progress=not (args.json or args.csv),
    )
    if args.json:
        print_json(r.rows)
    elif args.csv:
        print_records_csv(r.rows)
    else:
        # MFU is a percentage in the table (the JSON and CSV keep the fraction, `preferred_mfu`).
        cols = [
            "model",
            "hardware",
            "context_length",
            "price_usd_per_hour",
            "max_speed_tokens_per_s_per_request",
            "preferred_tokens_per_s_per_request",
            "preferred_usd_per_million_tokens",
            "preferred_mfu_pct",
            "min_cost_usd_per_million_tokens",
        ]
        heads = [
            "model",
            "hardware",
            "context",
            "$/h",
            "max tok/s",
            "pref tok/s",
            "pref $/M",
            "pref MFU %",
            "min $/M",
        ]
        shown = [
            {
                **row,
                "preferred_mfu_pct": None if row.get("preferred_mfu") is None else 100 * row["preferred_mfu"],
            }
            for row in r.rows
        ]
        print(table([[row.get(c) for c in cols] for row in shown], heads))
    if args.plot:
        labels = [f"{k[0]} @ {k[1]}, ctx {k[2]}, ${k[3]:g}/h" for k in r.frontiers]
        ax = plot_frontier(list(r.frontiers.values()), labels=labels, mark_preferred=False, title="Sweep")
        ax.figure.savefig(args.plot, dpi=130, bbox_inches="tight")
        if not (args.json or args.csv):
            print(f"plot written to {args.plot}")
    return 0
