"""Handler of `infereco compare` (parser: infereco/cli/compare.py)."""

from __future__ import annotations

from infereco.api import frontier_from_scenario
from infereco.cli._common import plot_path, print_json, print_records_csv, table
from infereco.cli._run_common import reject_cost_file
from infereco.cli.compare import is_spec_item, split_item
from infereco.plot.frontier import plot_frontier


def _scenario(item: str, preset):
    if is_spec_item(item):
        model, hw, ctx = split_item(item)
        s = {"model": model, "hardware": hw, "workload": {"context_length": ctx if ctx else 1000}}
        if preset:
            s["preset"] = preset
        return s, item
    reject_cost_file(item, "compare")
    return item, item


def run(args) -> int:
    frontiers, labels = [], []
    for item in args.items:
        s, label = _scenario(item, args.preset)
        frontiers.append(frontier_from_scenario(s, where=label))
        labels.append(label)
    summary = []
    for label, f in zip(labels, frontiers):
        if f.empty:
            summary.append(
                {
                    "scenario": label,
                    "max_tokens_per_s": None,
                    "preferred_tokens_per_s": None,
                    "preferred_usd_per_million": None,
                    "min_usd_per_million": None,
                    "reason": f.reason,
                }
            )
            continue
        p = f.preferred(args.alpha)
        summary.append(
            {
                "scenario": label,
                "max_tokens_per_s": f.max_speed().tokens_per_s_per_request,
                "preferred_tokens_per_s": p.tokens_per_s_per_request,
                "preferred_usd_per_million": p.usd_per_million_tokens,
                "min_usd_per_million": f.min_cost().usd_per_million_tokens,
                "reason": None,
            }
        )
    if args.json:
        print_json(summary)
    elif args.csv:
        print_records_csv(summary)
    else:
        print(
            table(
                [
                    [
                        r["scenario"],
                        r["max_tokens_per_s"],
                        r["preferred_tokens_per_s"],
                        r["preferred_usd_per_million"],
                        r["min_usd_per_million"],
                    ]
                    for r in summary
                ],
                ["scenario", "max tok/s/req", "preferred tok/s", "preferred $/M", "cheapest $/M"],
            )
        )
    path = plot_path(args)
    if path:
        ax = plot_frontier(frontiers, labels=labels, alpha=args.alpha, title="Frontier comparison")
        ax.figure.savefig(path, dpi=130)
        if not (args.json or args.csv):
            print(f"plot written to {path}")
    return 0
