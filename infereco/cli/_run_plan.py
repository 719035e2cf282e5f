"""Handler of `infereco plan` (parser: infereco/cli/plan.py)."""

from __future__ import annotations

from infereco.cli._common import print_json, print_records_csv, table
from infereco.planning import plan

_COLUMNS = (
    ("hardware", "hardware"),
    ("engine", "engine"),
    ("n_gpus", "GPUs"),
    ("replicas", "replicas"),
    ("tp", "TP"),
    ("ep", "EP"),
    ("pp", "PP"),
    ("attention_dp", "attn DP"),
    ("concurrency_cap", "cap"),
    ("usd_per_month", "$/month"),
    ("usd_per_million_output_tokens", "$/M out"),
    ("ttft_s_p90", "TTFT p90 s"),
    ("ttft_s_p99", "TTFT p99 s"),
    ("tpot_s_p90", "TPOT p90 s"),
    ("utilisation", "util"),
)


def run(args) -> int:
    r = plan(args.plan_file, max_plans=args.max_plans)
    if args.json:
        print_json(r.to_json())
    elif args.csv:
        print_records_csv(r.plans)
    else:
        s = r.spec
        targets = ", ".join(f"{q} {p} ≤ {v:g}" for q, p, v in s.slo.targets())
        print(
            f"plan for {s.model if isinstance(s.model, str) else 'the given model'}: "
            f"{s.traffic.peak_requests_per_s:g} requests/s at the peak, "
            f"{s.traffic.input_tokens.mean:g} input / {s.traffic.output_tokens.mean:g} output tokens on "
            f"average; targets {targets}"
        )
        if r.plans:
            print(table([[p[k] for k, _ in _COLUMNS] for p in r.plans], [h for _, h in _COLUMNS]))
            best = r.plans[0]
            print(
                f"cheapest: {best['replicas']} × {best['gpus_per_replica']} {best['hardware']} "
                f"({best['engine']}), ${best['usd_per_month']:,.0f}/month; "
                f"binding: {best['binding_constraint']}"
            )
            if "usd_per_month_autoscaled" in best:
                print(
                    f"daily profile: replicas by hour {best['replicas_by_hour']}; "
                    f"${best['usd_per_month_autoscaled']:,.0f}/month autoscaled vs "
                    f"${best['usd_per_month_fixed_at_peak']:,.0f}/month fixed at the peak"
                )
        else:
            print("no plan meets the targets")
        if r.rejected:
            print(f"{len(r.rejected)} candidates rejected (--json lists each with its reason); first:")
            for x in r.rejected[:5]:
                where = " ".join(str(x[k]) for k in ("hardware", "engine", "mode") if k in x)
                if "n_gpus" in x:
                    where += f" {x['n_gpus']} GPUs (TP {x['tp']}, EP {x['ep']}, PP {x['pp']})"
                print(f"  {where}: {x['reason']}")
    if args.plot:
        from infereco.plot.plan import plot_plans

        plot_plans(r, args.plot)
    return 0
