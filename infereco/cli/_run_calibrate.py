"""Handler of `infereco calibrate` (parser: infereco/cli/calibrate.py)."""

from __future__ import annotations

import csv
import math
import os

from matplotlib.figure import Figure  # no pyplot: no global figure state

from infereco.calibration.fit import calibrate
from infereco.calibration.readers import is_fleet_csv, load_measurements
from infereco.calibration.result import FIT_QUANTITIES, output_path
from infereco.cli._common import print_json
from infereco.errors import SpecError
from infereco.physics.serving import EngineConfig
from infereco.plot.calibration import plot_measured_vs_predicted


def _fleet_csv(paths) -> str | None:
    """The one RUNS path when it is a fleet-schema CSV (header check), else None."""
    if len(paths) != 1 or not str(paths[0]).lower().endswith(".csv") or not os.path.isfile(paths[0]):
        return None
    with open(paths[0], newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    return paths[0] if is_fleet_csv(header) else None


def run(args) -> int:
    fleet = _fleet_csv(args.runs)
    if fleet is not None:
        from infereco.cli._run_predict import run_fleet_calibrate

        return run_fleet_calibrate(args, fleet)
    if not args.model or not args.hardware:
        raise SpecError(
            "--model and --hardware are required for vLLM result files and plain measurement CSVs "
            "(a fleet-schema CSV, with model_path and system columns, needs neither)"
        )
    engine = {
        "vllm-gpu": EngineConfig.vllm_gpu,
        "vllm-cpu": EngineConfig.vllm_cpu,
        "static": EngineConfig.static_batch,
    }[args.engine]()
    if args.max_num_batched_tokens is not None:
        engine = engine.replace(max_num_batched_tokens=args.max_num_batched_tokens)
    if args.out:
        output_path(args.out)  # a folder that does not exist is an error before the fit, never created
    table = load_measurements(args.runs, tp=args.tp)
    fit = "auto" if args.fit.strip() == "auto" else [s.strip() for s in args.fit.split(",") if s.strip()]
    res = calibrate(
        table,
        args.model,
        args.hardware,
        tp=args.tp,
        engine=engine,
        preset=args.preset,
        fit=fit,
        loss=args.loss,
        bootstrap=args.bootstrap,
        static=args.engine == "static",
    )
    path = res.save_yaml(args.out) if args.out else None
    if args.plot:
        qs = [q for q in FIT_QUANTITIES if q in res.sigma_fitted]
        fig = Figure(figsize=(5.0 * len(qs), 4.4), dpi=110)
        axes = fig.subplots(1, len(qs), squeeze=False)
        for ax, q in zip(axes[0], qs):
            plot_measured_vs_predicted(res.train, q, ax=ax, label="calibration runs (in-sample, 90% PI)")
        fig.tight_layout()
        fig.savefig(args.plot)
    if args.json:
        d = res.to_dict()
        d["written"] = str(path) if path else None
        print_json(_finite(d))
        return 0
    print(res.report(runs=not args.no_runs))
    if path:
        print(f"\ncalibrated hardware spec written to {path} (use it as --hardware {path})")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _finite(x):
    """JSON-safe: non-finite floats become None."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
