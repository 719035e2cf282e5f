"""Handler of `infereco frontier` (parser: infereco/cli/frontier.py)."""

from __future__ import annotations

import numpy as np

from infereco.api import frontier_from_scenario
from infereco.cli._common import plot_path, print_records_csv, table
from infereco.cli._run_common import describe_model, reject_cost_file
from infereco.specs.hf_config import load_hf_config
from infereco.specs.scenario import DEFAULT_SCENARIO, load_scenario

# MFU is a percentage in the table (the JSON and CSV keep the fraction, `mfu`).
COLUMNS = [
    ("tok/s/req", "tokens_per_s_per_request"),
    ("$/M tok", "usd_per_million_tokens"),
    ("GPUs", "n_gpu"),
    ("batch", "batch_size"),
    ("TP", "tp"),
    ("EP", "ep"),
    ("attn DP", "attn_dp"),
    ("2D", "tp_2d"),
    ("PP", "pp"),
    ("γ", "gamma"),
    ("MFU %", "mfu_pct"),
    ("bound", "bound"),
]


def _scenario_from_args(args) -> tuple[dict, str | None]:
    """The scenario mapping, and a one-line description of a --config model (None otherwise)."""
    if args.scenario:
        reject_cost_file(args.scenario, "frontier")
    base = (
        dict(DEFAULT_SCENARIO)
        if not args.scenario
        else load_scenario(args.scenario).model_dump(exclude_none=True)
    )
    header = None
    if args.model:
        base["model"] = args.model
    if args.config:
        spec = load_hf_config(args.config, weight_bits=args.weight_bits)
        base["model"] = spec.model_dump(exclude_none=True)
        header = describe_model(spec, args.config)
    if args.hardware:
        base["hardware"] = args.hardware
    if args.context_length is not None:
        base["workload"] = {**base.get("workload", {}), "context_length": args.context_length}
    if args.price is not None:
        base["price_usd_per_hour"] = args.price
    if args.preset:
        base["preset"] = args.preset
    if args.search:
        base["search"] = args.search
    if args.alpha is not None:
        base["alpha"] = args.alpha
    if args.model or args.hardware or args.config:
        base.pop("name", None)
    return base, header


def _subsample(n: int, rows: int, x: np.ndarray) -> list[int]:
    if rows <= 0 or n <= rows:
        return list(range(n))
    targets = np.geomspace(x.min(), x.max(), rows)
    picks = {int(np.argmin(np.abs(np.log(x) - np.log(t)))) for t in targets}
    return sorted(picks, key=lambda i: -x[i])


def run(args) -> int:
    scenario, model_header = _scenario_from_args(args)
    f = frontier_from_scenario(scenario, where=args.scenario or "default scenario")
    alpha = args.alpha
    if model_header and not (args.json or args.csv):
        print(model_header)
    if args.json:
        print(f.to_json(alpha))
    elif args.csv:
        print_records_csv(f.to_records())
    else:
        print(_describe(f, scenario))
        if f.empty:
            print(f"\nNo feasible configuration: {f.reason}")
        else:
            x = f.columns["tokens_per_s_per_request"]
            pref = f.preferred(alpha)
            keep = _subsample(len(f), args.rows, x)
            i_pref = int(np.flatnonzero(x == pref.tokens_per_s_per_request)[0])
            keep = sorted(set(keep) | {i_pref}, key=lambda i: -x[i])
            fastest = f.max_speed()
            cheapest = f.min_cost()
            columns = [(h, k) for h, k in COLUMNS if k in f.columns or k == "mfu_pct"]
            if "usd_per_million_input_tokens" in f.columns:
                columns[2:2] = [("$/M in", "usd_per_million_input_tokens"), ("TTFT s", "ttft_s")]
            rows, marks = [], []
            for i in keep:
                p = f.point(i).to_dict()
                p["mfu_pct"] = 100 * p["mfu"]
                rows.append([p.get(k) for _, k in columns])
                marks.append("*" if p["tokens_per_s_per_request"] == pref.tokens_per_s_per_request else " ")
            print(table(rows, [h for h, _ in columns], marks))
            a = alpha if alpha is not None else f.default_alpha
            print(f"\n{len(f)} frontier points ({len(keep)} shown).")
            print(
                f"fastest:   {fastest.tokens_per_s_per_request:8.1f} tok/s/req "
                f"at ${fastest.usd_per_million_tokens:.3g}/M "
                f"({fastest.n_gpu:.3g} GPUs, batch {fastest.batch_size:.3g}, bound: {fastest.bound})"
            )
            print(
                f"preferred: {pref.tokens_per_s_per_request:8.1f} tok/s/req "
                f"at ${pref.usd_per_million_tokens:.3g}/M "
                f"({pref.n_gpu:.3g} GPUs, batch {pref.batch_size:.3g}, MFU {100 * pref.mfu:.1f}%; "
                f"max speed^{a:g}/price)  [*]"
            )
            print(
                f"cheapest:  {cheapest.tokens_per_s_per_request:8.1f} tok/s/req "
                f"at ${cheapest.usd_per_million_tokens:.3g}/M"
            )
            if f.meta.get("serving"):
                print(
                    f"serving: {f.meta['serving']} (mean {f.meta.get('mean_input_tokens', '?'):g} input / "
                    f"{f.meta.get('mean_output_tokens', '?'):g} output tokens per request)"
                    if "mean_input_tokens" in f.meta
                    else f"serving: {f.meta['serving']}"
                )
            for o in f.meta.get("observed", []):
                print(
                    f"observed {o['name']}: {o['tokens_per_s']:g} tok/s "
                    f"at ${o['usd_per_million_tokens']:g}/M is "
                    f"{o['placement'].upper()} the frontier"
                )
    path = plot_path(args)
    if path and not f.empty:
        if args.plot_kind == "frontier":
            observed = [
                (o["name"], o["tokens_per_s"], o["usd_per_million_tokens"])
                for o in f.meta.get("observed", [])
            ]
            ax = f.plot(alpha=alpha, observed=observed or None)
        else:
            ax = f.plot(kind=args.plot_kind)
        ax.figure.savefig(path, dpi=130)
        if not (args.json or args.csv):
            print(f"plot written to {path}")
    return 0


def _describe(f, scenario) -> str:
    m = f.meta
    head = scenario.get("name") or f"{m['model']} on {m['hardware']}"
    cap = m.get("max_throughput_tokens_per_s")
    spec = m.get("speculative")
    parts = [
        f"context {m['context_length']:,} tokens",
        f"${m['price_usd_per_hour']:.3g}/h per accelerator",
        f"preset {m['preset']}",
        f"search {m['search']}",
    ]
    if cap:
        parts.append(f"demand ≤ {cap:,.0f} tok/s")
    if spec:
        parts.append(f"speculative: {spec['draft']}, α = {spec['acceptance']}")
    return f"{head}\n" + ", ".join(parts) + "\n"
