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


def run(args: argparse.Namespace) -> int:
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
    return 0
