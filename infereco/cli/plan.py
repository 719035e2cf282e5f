"""`infereco plan PLAN.yaml`: traffic and SLOs in, ranked priced deployments out.

Parser only; the handler is infereco/cli/_run_plan.py."""

from __future__ import annotations

from infereco.cli._common import check_plot_file


def register(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="cheapest deployments that serve a traffic within latency targets (p50/p90/p99)",
        description="Example: infereco plan examples/plans/llama_3_70b.yaml --json. The plan file names the "
        "model, traffic (requests_per_s, input_tokens, output_tokens), slo (ttft_s / tpot_s / e2e_s: "
        "{p50, p90, p99} seconds) and candidates (hardware, price, engines, modes, max_gpus).",
    )
    p.add_argument("plan_file", metavar="PLAN.yaml", help="the plan file (YAML or JSON)")
    p.add_argument("--max-plans", type=int, default=20, help="plans listed (cheapest first; default 20)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help='print {"plans": [...], "rejected": [...]}')
    g.add_argument("--csv", action="store_true", help="print the plans as CSV")
    p.add_argument("--plot", metavar="FILE", help="plot the plans' cost against their p90 TTFT")
    p.set_defaults(func="infereco.cli._run_plan:run", check=check)


def check(args) -> None:
    import os

    from infereco.errors import SpecError

    check_plot_file(args.plot)
    if args.max_plans < 1:
        raise SpecError(f"--max-plans {args.max_plans}: expected a positive number of plans")
    if not os.path.isfile(args.plan_file):
        raise SpecError(f"{args.plan_file}: no such file (expected a plan YAML file)")
