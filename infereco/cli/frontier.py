"""`infereco frontier [SCENARIO.yaml]`: the Pareto frontier of a scenario (default: Llama 3 70B on H100)."""

from __future__ import annotations

import argparse
import json

import numpy as np

from infereco.cli._common import add_output_options, print_records_csv, table
from infereco.api import frontier_from_scenario
from infereco.specs.scenario import DEFAULT_SCENARIO, load_scenario

COLUMNS = [
    ("tok/s/req", "tokens_per_s_per_request"),
    ("$/M tok", "usd_per_million_tokens"),
    ("GPUs", "n_gpu"),
    ("batch", "batch_size"),
    ("TP", "tp"),
    ("2D", "tp_2d"),
    ("PP", "pp"),
    ("γ", "gamma"),
    ("MFU %", "mfu_pct"),
    ("bound", "bound"),
]


def register(sub) -> None:
    p = sub.add_parser("frontier", help="Pareto frontier of $/M tokens against tokens/s per request",
                       description="Compute the frontier of a scenario file (default: Llama 3 70B on H100 SXM, "
                       "context 1,000) and print a table; writes a PNG plot unless --no-plot.")
    p.add_argument("scenario", nargs="?", help="scenario YAML file (keys: preset, search, model, hardware, workload, speculative)")
    p.add_argument("--model", help="catalog model id (overrides the scenario)")
    p.add_argument("--config", metavar="CONFIG_JSON", help="a Hugging Face config.json (or its folder) as the model")
    p.add_argument("--hardware", help="catalog hardware id (overrides the scenario)")
    p.add_argument("--context-length", type=int, help="tokens in context")
    p.add_argument("--preset", help="assumption preset: default, erdil-2024, erdil-paper")
    p.add_argument("--search", help="search space: discrete (default: integer layouts), erdil-grid (the reference grid), continuous")
    p.add_argument("--alpha", type=float, help="preference exponent for the preferred point (speed^α / price)")
    p.add_argument("--rows", type=int, default=16, help="table rows (log-spaced in speed; 0 = all points)")
    p.add_argument("--plot-kind", choices=["frontier", "mfu", "breakdown"], default="frontier",
                   help="what --plot draws: the frontier, MFU along it, or the step-time breakdown")
    add_output_options(p, plot_default="infereco-frontier.png")
    p.set_defaults(func=run)


def _scenario_from_args(args) -> dict:
    base = dict(DEFAULT_SCENARIO) if not args.scenario else load_scenario(args.scenario).model_dump(exclude_none=True)
    if args.model:
        base["model"] = args.model
    if args.config:
        from infereco.specs.hf_config import load_hf_config

        base["model"] = load_hf_config(args.config).model_dump(exclude_none=True)
    if args.hardware:
        base["hardware"] = args.hardware
    if args.context_length is not None:
        base["workload"] = {**base.get("workload", {}), "context_length": args.context_length}
    if args.preset:
        base["preset"] = args.preset
    if args.search:
        base["search"] = args.search
    if args.alpha is not None:
        base["alpha"] = args.alpha
    if args.model or args.hardware or args.config:
        base.pop("name", None)
    return base


def _subsample(n: int, rows: int, x: np.ndarray) -> list[int]:
    if rows <= 0 or n <= rows:
        return list(range(n))
    targets = np.geomspace(x.min(), x.max(), rows)
    picks = {int(np.argmin(np.abs(np.log(x) - np.log(t)))) for t in targets}
    return sorted(picks, key=lambda i: -x[i])


def run(args) -> int:
    scenario = _scenario_from_args(args)
    f = frontier_from_scenario(scenario, where=args.scenario or "default scenario")
    alpha = args.alpha
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
            columns = list(COLUMNS)
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
            print(f"fastest:   {fastest.tokens_per_s_per_request:8.1f} tok/s/req at ${fastest.usd_per_million_tokens:.3g}/M "
                  f"({fastest.n_gpu:.3g} GPUs, batch {fastest.batch_size:.3g}, bound: {fastest.bound})")
            print(f"preferred: {pref.tokens_per_s_per_request:8.1f} tok/s/req at ${pref.usd_per_million_tokens:.3g}/M "
                  f"({pref.n_gpu:.3g} GPUs, batch {pref.batch_size:.3g}, MFU {100 * pref.mfu:.1f}%; max speed^{a:g}/price)  [*]")
            print(f"cheapest:  {cheapest.tokens_per_s_per_request:8.1f} tok/s/req at ${cheapest.usd_per_million_tokens:.3g}/M")
            if f.meta.get("serving"):
                print(f"serving: {f.meta['serving']} (mean {f.meta.get('mean_input_tokens', '?'):g} input / "
                      f"{f.meta.get('mean_output_tokens', '?'):g} output tokens per request)"
                      if "mean_input_tokens" in f.meta else f"serving: {f.meta['serving']}")
            for o in f.meta.get("observed", []):
                print(f"observed {o['name']}: {o['tokens_per_s']:g} tok/s at ${o['usd_per_million_tokens']:g}/M is "
                      f"{o['placement'].upper()} the frontier")
    plot_path = None if getattr(args, "no_plot", False) else args.plot
    if plot_path and not f.empty:
        if args.plot_kind == "frontier":
            observed = [(o["name"], o["tokens_per_s"], o["usd_per_million_tokens"]) for o in f.meta.get("observed", [])]
            ax = f.plot(alpha=alpha, observed=observed or None)
        else:
            ax = f.plot(kind=args.plot_kind)
        ax.figure.savefig(plot_path, dpi=130)
        if not (args.json or args.csv):
            print(f"plot written to {plot_path}")
    return 0


def _describe(f, scenario) -> str:
    m = f.meta
    head = scenario.get("name") or f"{m['model']} on {m['hardware']}"
    cap = m.get("max_throughput_tokens_per_s")
    spec = m.get("speculative")
    parts = [f"context {m['context_length']:,} tokens", f"${m['price_usd_per_hour']:.3g}/h per accelerator",
             f"preset {m['preset']}", f"search {m['search']}"]
    if cap:
        parts.append(f"demand ≤ {cap:,.0f} tok/s")
    if spec:
        parts.append(f"speculative: {spec['draft']}, α = {spec['acceptance']}")
    return f"{head}\n" + ", ".join(parts) + "\n"
