"""`infereco sweep`: frontiers over models × hardware × contexts × prices as a table."""

from __future__ import annotations

from infereco.cli._common import print_json, print_records_csv, table
from infereco.sweep import sweep


def _csv_list(text: str, cast=str):
    return [cast(x) for x in text.split(",") if x.strip()]


def register(sub) -> None:
    p = sub.add_parser("sweep", help="summary of many frontiers (models × hardware × contexts × prices)",
                       description="Example: infereco sweep --models llama-3-8b,llama-3-70b --hardware h100-sxm,h200 "
                       "--contexts 1000,32000 --prices 2,3")
    p.add_argument("--models", required=True, help="comma-separated catalog model ids")
    p.add_argument("--hardware", required=True, help="comma-separated catalog hardware ids")
    p.add_argument("--contexts", default="1000", help="comma-separated context lengths")
    p.add_argument("--prices", default=None, help="comma-separated USD per accelerator-hour (default: catalog)")
    p.add_argument("--preset", default="default")
    p.add_argument("--search", default=None)
    p.add_argument("--alpha", type=float, default=None)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    p.add_argument("--plot", metavar="FILE", help="plot every frontier on one figure")
    p.set_defaults(func=run)


def run(args) -> int:
    prices = _csv_list(args.prices, float) if args.prices else None
    r = sweep(_csv_list(args.models), _csv_list(args.hardware), _csv_list(args.contexts, int), prices,
              preset=args.preset, search=args.search, alpha=args.alpha, progress=not (args.json or args.csv))
    if args.json:
        print_json(r.rows)
    elif args.csv:
        print_records_csv(r.rows)
    else:
        cols = ["model", "hardware", "context_length", "price_usd_per_hour", "max_speed_tokens_per_s_per_request",
                "preferred_tokens_per_s_per_request", "preferred_usd_per_million_tokens", "min_cost_usd_per_million_tokens"]
        heads = ["model", "hardware", "context", "$/h", "max tok/s", "pref tok/s", "pref $/M", "min $/M"]
        print(table([[row.get(c) for c in cols] for row in r.rows], heads))
    if args.plot:
        from infereco.plot.frontier import plot_frontier

        labels = [f"{k[0]} @ {k[1]}, ctx {k[2]}, ${k[3]:g}/h" for k in r.frontiers]
        ax = plot_frontier(list(r.frontiers.values()), labels=labels, mark_preferred=False, title="Sweep")
        ax.figure.savefig(args.plot, dpi=130)
    return 0
