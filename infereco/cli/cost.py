"""`infereco cost`: the hourly cost breakdown of a GPU, from a YAML cost file or flags, and the break-even
utilisation against cloud rates.

    infereco cost examples/a800_zhuang2025.yaml --cloud-usd-per-hour 2.82 --cloud-usd-per-hour 5.64
    infereco cost --purchase-price 120000 --currency CNY --currency-per-usd 7.09 --years 3 --utilization 1 \\
        --power-kw 0.4 --pue 1.5 --electricity-price 1.0 --maintenance-rate 0.03 --n-gpus 2 --json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from typing import Any

from infereco.economics.hourly_cost import OwnershipCost, cost_from_mapping, hourly_cost
from infereco.economics.ownership import breakeven_utilization
from infereco.errors import SpecError
from infereco.specs.yaml_io import load_yaml_mapping

# flag dest -> OwnershipCost field (flags override the same keys of a YAML file).
_FLAG_FIELDS = {
    "name": "name",
    "purchase_price": "purchase_price",
    "currency": "currency",
    "currency_per_usd": "currency_per_usd",
    "usd_per_currency": "usd_per_currency",
    "years": "depreciation_years",
    "utilization": "utilization",
    "power_kw": "power_kw",
    "pue": "pue",
    "electricity_price": "electricity_price_per_kwh",
    "maintenance_rate": "maintenance_rate_per_year",
    "cost_of_capital_rate": "cost_of_capital_rate_per_year",
    "host_share": "host_and_network_share_per_hour",
    "n_gpus": "n_gpus",
}
_REQUIRED = {"purchase_price": "--purchase-price", "depreciation_years": "--years", "power_kw": "--power-kw",
             "electricity_price_per_kwh": "--electricity-price"}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cost",
        help="hourly GPU cost breakdown (depreciation, power, maintenance) and break-even vs cloud",
        description="Print the cost of one utilised GPU-hour by component (Zhuang et al. 2025, App. A), in USD, "
        "from a YAML cost file and/or flags (flags override the file). Money is in --currency; give "
        "--currency-per-usd unless it is USD.",
    )
    p.add_argument("file", nargs="?", help="YAML cost file (see examples/a800_zhuang2025.yaml)")
    p.add_argument("--name", help="label for the output")
    p.add_argument("--purchase-price", type=float, help="price of one GPU, in --currency")
    p.add_argument("--currency", help="ISO code of every money value, e.g. CNY (default USD)")
    p.add_argument("--currency-per-usd", type=float, help="units of --currency per USD, e.g. 7.09 for CNY")
    p.add_argument("--usd-per-currency", type=float, help="USD per unit of --currency (instead of the above)")
    p.add_argument("--years", type=float, help="depreciation period, years")
    p.add_argument("--utilization", type=float, help="fraction of calendar hours worked, 0 < u ≤ 1 (default 1)")
    p.add_argument("--power-kw", type=float, help="average power per GPU, kW")
    p.add_argument("--pue", type=float, help="data-centre power usage effectiveness (default 1)")
    p.add_argument("--electricity-price", type=float, help="per kWh, in --currency")
    p.add_argument("--maintenance-rate", type=float, help="per year, fraction of the purchase price (0.03 = 3%%)")
    p.add_argument("--cost-of-capital-rate", type=float, help="interest per year on the purchase price, fraction")
    p.add_argument("--host-share", type=float, help="host and network cost per GPU per calendar hour, in --currency")
    p.add_argument("--n-gpus", type=int, help="GPUs in the deployment (default 1)")
    p.add_argument("--cloud-usd-per-hour", type=float, action="append", default=[], metavar="USD",
                   help="cloud rate per GPU-hour; adds the break-even utilisation (repeat for several)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    p.add_argument("--plot", metavar="FILE", help="write a PNG: the hourly breakdown (and the break-even curve with "
                   "--cloud-usd-per-hour), or the production frontier with --production")
    p.add_argument("--production", metavar="ENTRIES", help="YAML list of {name, quality_score, cost_usd}: print the "
                   "quality-vs-cost production frontier, the dominated entries and the cost-effectiveness zone")
    p.add_argument("--min-quality-per-usd", type=float, default=1.0,
                   help="with --production: the zone ends where quality per extra dollar falls below this")
    p.set_defaults(func=run)


def _spec(args: argparse.Namespace):
    data: dict[str, Any] = {}
    where = "flags"
    if args.file:
        data = load_yaml_mapping(args.file)
        where = args.file
    overrides = {field: getattr(args, dest) for dest, field in _FLAG_FIELDS.items() if getattr(args, dest) is not None}
    if overrides:
        data = {**data, **overrides}
        where = f"{args.file} with flags" if args.file else "flags"
    if not args.file:
        missing = [flag for field, flag in _REQUIRED.items() if field not in data]
        if missing:
            raise SpecError(f"missing {', '.join(missing)}: give a YAML cost file or these flags")
    return cost_from_mapping(data, where=where)


def _breakevens(spec, rates: list[float]) -> list[dict[str, Any]]:
    if not rates:
        return []
    if not isinstance(spec, OwnershipCost):
        raise SpecError("--cloud-usd-per-hour: break-even needs an ownership cost, but the file is kind: rental")
    return [{"cloud_usd_per_hour": c, "breakeven_utilization": breakeven_utilization(spec, c)} for c in rates]


def _describe(b: dict[str, Any]) -> str:
    c, u = b["cloud_usd_per_hour"], b["breakeven_utilization"]
    head = f"break-even vs cloud ${c:.4g}/GPU-h: "
    if math.isinf(u):
        return head + "never (the cloud rate does not cover power and maintenance)"
    if u > 1:
        return head + f"u* = {u:.3f} > 1: owning costs more even at full use"
    return head + f"u* = {u:.3f}: owning is cheaper when the GPUs work more than {u:.1%} of calendar hours"


def _production(args: argparse.Namespace) -> int:
    from infereco.economics.production_frontier import cost_effectiveness_zone, production_frontier
    from infereco.errors import SpecError
    from infereco.specs.yaml_io import parse_yaml_text

    try:
        text = open(args.production, encoding="utf-8").read()
    except OSError as exc:
        raise SpecError(f"{args.production}: cannot read ({exc.strerror})") from None
    data = parse_yaml_text(text, args.production)
    entries = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{args.production}: expected a list of {{name, quality_score, cost_usd}} (or entries: [...])")
    pf = production_frontier(entries)
    zone = cost_effectiveness_zone(pf, min_quality_per_usd=args.min_quality_per_usd)
    if args.json:
        json.dump({"frontier": [e.model_dump() for e in pf.frontier],
                   "dominated": [{"entry": d[0].model_dump(), "dominated_by": d[1].name} if isinstance(d, tuple)
                                 else str(d) for d in pf.dominated],
                   "zone": str(zone)}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(pf)
        print(zone)
    if args.plot:
        from infereco.plot.economics import plot_production_frontier

        ax = plot_production_frontier(pf, zone=zone)
        ax.figure.savefig(args.plot, dpi=130)
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.production:
        return _production(args)
    spec = _spec(args)
    breakdown = hourly_cost(spec)
    breakevens = _breakevens(spec, args.cloud_usd_per_hour)
    out = sys.stdout
    if args.json:
        doc = {
            **breakdown.to_dict(),
            "inputs": spec.model_dump(),
            # JSON has no infinity: null means owning never breaks even.
            "breakeven": [{**b, "breakeven_utilization": None if math.isinf(b["breakeven_utilization"])
                           else b["breakeven_utilization"]} for b in breakevens],
        }
        json.dump(doc, out, indent=2, allow_nan=False)
        out.write("\n")
    elif args.csv:
        cols = ["component", "usd_per_gpu_hour", "usd_per_hour_all_gpus", "share", "cloud_usd_per_hour",
                "breakeven_utilization"]
        writer = csv.DictWriter(out, fieldnames=cols, lineterminator="\n", restval="")
        writer.writeheader()
        for rec in breakdown.to_records():
            writer.writerow(rec)
        for b in breakevens:
            writer.writerow({"component": "breakeven", **b})
    else:
        print(breakdown, file=out)
        for b in breakevens:
            print(_describe(b), file=out)
    if args.plot:
        import matplotlib.pyplot as plt

        from infereco.plot.economics import plot_breakeven, plot_hourly_cost

        n = 2 if args.cloud_usd_per_hour else 1
        fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 4.2), dpi=110, squeeze=False)
        plot_hourly_cost(breakdown, ax=axes[0][0])
        if n == 2:
            plot_breakeven(spec, args.cloud_usd_per_hour, ax=axes[0][1])
        fig.tight_layout()
        fig.savefig(args.plot, dpi=130)
        if not (args.json or args.csv):
            print(f"plot written to {args.plot}", file=out)
    return 0
