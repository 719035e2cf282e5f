"""`infereco sweep`: frontiers over models × hardware × contexts × prices as a table.

Parser only; the handler is infereco/cli/_run_sweep.py."""

from __future__ import annotations

from infereco.cli._common import catalog_id, check_plot_file, context_list, id_list, price_list


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="summary of many frontiers (models × hardware × contexts × prices)",
        description="Example: infereco sweep --models llama-3-8b,llama-3-70b --hardware h100-sxm,h200 "
        "--contexts 1000,32000 --prices 2,3. MFU (in --json / --csv) is a fraction of peak.",
    )
    p.add_argument("--models", required=True, type=id_list, help="comma-separated catalog model ids")
    p.add_argument("--hardware", required=True, type=id_list, help="comma-separated catalog hardware ids")
    p.add_argument(
        "--contexts", default=[1000], type=context_list, help="comma-separated context lengths (tokens)"
    )
    p.add_argument(
        "--prices",
        default=None,
        type=price_list,
        help="comma-separated USD per accelerator-hour (default: catalog)",
    )
    p.add_argument("--preset", type=catalog_id, default="default")
    p.add_argument("--search", type=catalog_id, default=None)
    p.add_argument("--alpha", type=float, default=None)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    p.add_argument("--plot", metavar="FILE", help="plot every frontier on one figure")
    p.set_defaults(func="infereco.cli._run_sweep:run", check=check)


def check(args) -> None:
    check_plot_file(args.plot)
