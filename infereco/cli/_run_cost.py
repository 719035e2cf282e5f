"""Handler of `infereco cost` (parser: infereco/cli/cost.py)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from typing import Any

from matplotlib.figure import Figure  # no pyplot: no global figure state

from infereco.economics.hourly_cost import OwnershipCost, cost_from_mapping, hourly_cost
from infereco.economics.ownership import breakeven_utilization
from infereco.economics.production_frontier import cost_effectiveness_zone, production_frontier
from infereco.errors import SpecError
from infereco.plot.economics import plot_breakeven, plot_hourly_cost, plot_production_frontier
from infereco.specs.yaml_io import load_yaml_mapping, parse_yaml_text

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
_REQUIRED = {
    "purchase_price": "--purchase-price",
    "depreciation_years": "--years",
    "power_kw": "--power-kw",
    "electricity_price_per_kwh": "--electricity-price",
}


def _spec(args: argparse.Namespace):
    data: dict[str, Any] = {}
    where = "flags"
    if args.file:
        data = load_yaml_mapping(args.file)
        where = args.file
    overrides = {
        field: getattr(args, dest) for dest, field in _FLAG_FIELDS.items() if getattr(args, dest) is not None
    }
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
        raise SpecError(
            "--cloud-usd-per-hour: break-even needs an ownership cost, but the file is kind: rental"
        )
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
    try:
        text = open(args.production, encoding="utf-8").read()
    except OSError as exc:
        raise SpecError(f"{args.production}: cannot read ({exc.strerror})") from None
    data = parse_yaml_text(text, args.production)
    entries = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise SpecError(
            f"{args.production}: expected a list of {{name, quality_score, cost_usd}} (or entries: [...])"
        )
    pf = production_frontier(entries)
    zone = cost_effectiveness_zone(pf, min_quality_per_usd=args.min_quality_per_usd)
    if args.json:
        json.dump(
            {
                "frontier": [e.model_dump() for e in pf.frontier],
                "dominated": [
                    {"entry": d[0].model_dump(), "dominated_by": d[1].name}
                    if isinstance(d, tuple)
                    else str(d)
                    for d in pf.dominated
                ],
                "zone": str(zone),
            },
            sys.stdout,
            indent=2,
            default=str,
        )
        sys.stdout.write("\n")
    else:
        print(pf)
        print(zone)
    if args.plot:
        ax = plot_production_frontier(pf, zone=zone)
        ax.figure.savefig(args.plot, dpi=130, bbox_inches="tight")
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
            "breakeven": [
                {
                    **b,
                    "breakeven_utilization": None
                    if math.isinf(b["breakeven_utilization"])
                    else b["breakeven_utilization"],
                }
                for b in breakevens
            ],
        }
        json.dump(doc, out, indent=2, allow_nan=False)
        out.write("\n")
    elif args.csv:
        cols = [
            "component",
            "usd_per_gpu_hour",
            "usd_per_hour_all_gpus",
            "share",
            "cloud_usd_per_hour",
            "breakeven_utilization",
        ]
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
        n = 2 if args.cloud_usd_per_hour else 1
        fig = Figure(figsize=(6.5 * n, 4.2), dpi=110)
        axes = fig.subplots(1, n, squeeze=False)
        plot_hourly_cost(breakdown, ax=axes[0][0])
        if n == 2:
            plot_breakeven(spec, args.cloud_usd_per_hour, ax=axes[0][1])
        fig.tight_layout()
        fig.savefig(args.plot, dpi=130, bbox_inches="tight")
        if not (args.json or args.csv):
            print(f"plot written to {args.plot}", file=out)
    return 0
