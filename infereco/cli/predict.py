"""`infereco predict`: predict measured TTFT and TPOT of serving runs (the fleet schema) and score them.

    infereco predict serving_runs.csv --out pred.csv --configs hf_configs/
    infereco predict serving_runs.csv --out pred.csv --profile profiles.yaml --configs hf_configs/
    infereco predict serving_runs.csv --out pred.csv --uncalibrated

Writes every input column plus predicted_ttft_ms, predicted_tpot_ms, their 90% interval
(predicted_*_ms_lo / _hi), status (ok, unsupported: <reason>, infeasible: <reason>) and assumptions, and
prints per backend × system: n, rows predicted, MAPE and median APE of TTFT and TPOT, interval coverage.

Parser only; the handler is infereco/cli/_run_predict.py.
"""

from __future__ import annotations

import os
from typing import Any

from infereco.cli._common import check_input_file, check_output_file
from infereco.errors import SpecError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict TTFT and TPOT of measured serving runs (fleet-schema CSV) and score the predictions",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog="\n\n".join(__doc__.split("\n\n")[1:3]),
    )
    p.add_argument(
        "runs", metavar="RUNS.csv", help="serving runs in the fleet schema (model_path, system, ...)"
    )
    p.add_argument("--out", required=True, metavar="PRED.csv", help="write the predictions here (CSV)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--profile", metavar="PROFILE.yaml", help="engine profiles (from infereco calibrate)")
    src.add_argument(
        "--uncalibrated", action="store_true", help="theory at nominal efficiencies: no fitted terms"
    )
    p.add_argument(
        "--configs",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of Hugging Face configs named <org>--<name>_config.json (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func="infereco.cli._run_predict:run", check=check)


def check(args) -> None:
    check_input_file(args.runs, "RUNS")
    check_output_file(args.out, "--out", ("csv",))
    if args.profile is not None:
        check_input_file(args.profile, "--profile")
    for d in args.configs:
        if not os.path.isdir(d):
            raise SpecError(f"--configs {d}: not a folder (expected a folder of <org>--<name>_config.json)")
