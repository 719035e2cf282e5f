"""`infereco frontier [SCENARIO.yaml]`: the Pareto frontier of a scenario (default: Llama 3 70B on H100).

Parser only; the handler is infereco/cli/_run_frontier.py."""

from __future__ import annotations

from infereco.cli._common import (
    add_config_options,
    add_output_options,
    catalog_id,
    check_config,
    check_input_file,
    check_plot_file,
    plot_path,
    price_arg,
)


def register(sub) -> None:
    p = sub.add_parser(
        "frontier",
        help="Pareto frontier of $/M tokens against tokens/s per request",
        description="Compute the frontier of a scenario file (default: Llama 3 70B on H100 SXM, "
        "context 1,000) and print a table; writes a plot unless --no-plot. Columns: EP is the "
        "expert-parallel degree, attn DP 'yes' where attention runs data-parallel (MLA models); "
        "MFU is in percent in the table and a fraction of peak in --json / --csv.",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        help="scenario YAML file (keys: preset, search, model, hardware, workload, "
        "speculative); a cost file goes to `infereco cost`",
    )
    model = p.add_mutually_exclusive_group()
    model.add_argument("--model", type=catalog_id, help="catalog model id (overrides the scenario)")
    add_config_options(p, model)
    p.add_argument("--hardware", type=catalog_id, help="catalog hardware id (overrides the scenario)")
    p.add_argument("--context-length", type=int, help="tokens in context")
    p.add_argument(
        "--price",
        type=price_arg,
        help="USD per accelerator-hour, or a price tier of the accelerator (e.g. hyperscaler, neocloud)",
    )
    p.add_argument("--preset", type=catalog_id, help="assumption preset: default, erdil-2024, erdil-paper")
    p.add_argument(
        "--search",
        type=catalog_id,
        help="search space: discrete (default: integer layouts), erdil-grid (the reference grid), continuous",
    )
    p.add_argument(
        "--alpha", type=float, help="preference exponent for the preferred point (speed^α / price)"
    )
    p.add_argument("--rows", type=int, default=16, help="table rows (log-spaced in speed; 0 = all points)")
    p.add_argument(
        "--plot-kind",
        choices=["frontier", "mfu", "breakdown"],
        default="frontier",
        help="what --plot draws: the frontier, MFU along it, or the step-time breakdown",
    )
    add_output_options(p, plot_default="infereco-frontier.png")
    p.set_defaults(func="infereco.cli._run_frontier:run", check=check)


def check(args) -> None:
    if args.scenario is not None:
        check_input_file(args.scenario, "scenario")
    check_config(args.config, args.weight_bits)
    check_plot_file(plot_path(args))
