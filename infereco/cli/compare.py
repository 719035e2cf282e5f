"""`infereco compare`: several scenarios (files or model@hardware specs) on one frontier plot."""

from __future__ import annotations

from infereco.cli._common import add_output_options, print_json, print_records_csv, table
from infereco.plot.frontier import plot_frontier
from infereco.api import frontier_from_scenario


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare several scenarios on one plot",
                       description="Each item is a scenario YAML file or MODEL@HARDWARE[:CONTEXT], e.g. "
                       "infereco compare llama-3-70b@h100-sxm llama-3-70b@h200 llama-3-70b@b200:8000")
    p.add_argument("items", nargs="+", help="scenario files or MODEL@HARDWARE[:CONTEXT]")
    p.add_argument("--preset", default=None, help="preset for MODEL@HARDWARE items")
    p.add_argument("--alpha", type=float, default=None, help="preference exponent")
    add_output_options(p, plot_default="infereco-compare.png")
    p.set_defaults(func=run)


def _scenario(item: str, preset):
    if "@" in item and not item.endswith((".yaml", ".yml")):
        model, rest = item.split("@", 1)
        hw, _, ctx = rest.partition(":")
        s = {"model": model, "hardware": hw, "workload": {"context_length": int(ctx) if ctx else 1000}}
        if preset:
            s["preset"] = preset
        return s, item
    return item, item


def run(args) -> int:
    frontiers, labels = [], []
    for item in args.items:
        s, label = _scenario(item, args.preset)
        frontiers.append(frontier_from_scenario(s))
        labels.append(label)
    summary = []
    for label, f in zip(labels, frontiers):
        if f.empty:
            summary.append({"scenario": label, "max_tokens_per_s": None, "preferred_tokens_per_s": None,
                            "preferred_usd_per_million": None, "min_usd_per_million": None, "reason": f.reason})
            continue
        p = f.preferred(args.alpha)
        summary.append({"scenario": label, "max_tokens_per_s": f.max_speed().tokens_per_s_per_request,
                        "preferred_tokens_per_s": p.tokens_per_s_per_request,
                        "preferred_usd_per_million": p.usd_per_million_tokens,
                        "min_usd_per_million": f.min_cost().usd_per_million_tokens, "reason": None})
    if args.json:
        print_json(summary)
    elif args.csv:
        print_records_csv(summary)
    else:
        print(table([[r["scenario"], r["max_tokens_per_s"], r["preferred_tokens_per_s"], r["preferred_usd_per_million"],
                      r["min_usd_per_million"]] for r in summary],
                    ["scenario", "max tok/s/req", "preferred tok/s", "preferred $/M", "cheapest $/M"]))
    path = None if args.no_plot else args.plot
    if path:
        ax = plot_frontier(frontiers, labels=labels, alpha=args.alpha, title="Frontier comparison")
        ax.figure.savefig(path, dpi=130)
        if not (args.json or args.csv):
            print(f"plot written to {path}")
    return 0
