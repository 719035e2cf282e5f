"""`infereco cost`: the hourly cost breakdown of a GPU, from a YAML cost file or flags, and the break-even
utilization against cloud rates.

    infereco cost examples/a800_zhuang2025.yaml --cloud-usd-per-hour 2.82 --cloud-usd-per-hour 5.64
    infereco cost --purchase-price 120000 --currency CNY --currency-per-usd 7.09 --years 3 --utilization 1 \\
        --power-kw 0.4 --pue 1.5 --electricity-price 1.0 --maintenance-rate 0.03 --n-gpus 2 --json

Parser only; the handler is infereco/cli/_run_cost.py.
"""

from __future__ import annotations

from typing import Any

from infereco.cli._common import check_input_file, check_plot_file


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cost",
        help="hourly GPU cost breakdown (depreciation, power, maintenance) and break-even vs cloud",
        description="Print the cost of one utilized GPU-hour by component (Zhuang et al. 2025, App. A), in "
        "USD, from a YAML cost file and/or flags (flags override the file). Money is in --currency; give "
        "--currency-per-usd unless it is USD.",
    )
    p.add_argument("file", nargs="?", help="YAML cost file (see examples/a800_zhuang2025.yaml)")
    p.add_argument("--name", help="label for the output")
    p.add_argument("--purchase-price", type=float, help="price of one GPU, in --currency")
    p.add_argument("--currency", help="ISO code of every money value, e.g. CNY (default USD)")
    p.add_argument("--currency-per-usd", type=float, help="units of --currency per USD, e.g. 7.09 for CNY")
    p.add_argument("--usd-per-currency", type=float, help="USD per unit of --currency (instead of the above)")
    p.add_argument("--years", type=float, help="depreciation period, years")
    p.add_argument(
        "--utilization", type=float, help="fraction of calendar hours worked, 0 < u ≤ 1 (default 1)"
    )
    p.add_argument("--power-kw", type=float, help="average power per GPU, kW")
    p.add_argument("--pue", type=float, help="data-centre power usage effectiveness (default 1)")
    p.add_argument("--electricity-price", type=float, help="per kWh, in --currency")
    p.add_argument(
        "--maintenance-rate", type=float, help="per year, fraction of the purchase price (0.03 = 3%%)"
    )
    p.add_argument(
        "--cost-of-capital-rate", type=float, help="interest per year on the purchase price, fraction"
    )
    p.add_argument(
        "--host-share", type=float, help="host and network cost per GPU per calendar hour, in --currency"
    )
    p.add_argument("--n-gpus", type=int, help="GPUs in the deployment (default 1)")
    p.add_argument(
        "--cloud-usd-per-hour",
        type=float,
        action="append",
        default=[],
        metavar="USD",
        help="cloud rate per GPU-hour; adds the break-even utilization (repeat for several)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="write a PNG: the hourly breakdown (and the break-even curve with "
        "--cloud-usd-per-hour), or the production frontier with --production",
    )
    p.add_argument(
        "--production",
        metavar="ENTRIES",
        help="YAML list of {name, quality_score, cost_usd}: print the "
        "quality-vs-cost production frontier, the dominated entries and the cost-effectiveness zone",
    )
    p.add_argument(
        "--min-quality-per-usd",
        type=float,
        default=1.0,
        help="with --production: the zone ends where quality per extra dollar falls below this",
    )
    p.set_defaults(func="infereco.cli._run_cost:run", check=check)


def check(args) -> None:
    check_input_file(args.file, "cost file")
    check_input_file(args.production, "--production")
    check_plot_file(args.plot)
