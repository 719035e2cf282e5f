"""`infereco calibrate`: fit calibration terms to measured benchmark runs and write the calibrated hardware
spec.

    infereco calibrate tests/data/vllm_cpu_runs --model tests/data/calibration/tiny-llama.yaml \\
        --hardware tests/data/calibration/cpu-2core-sandbox.yaml --engine vllm-cpu --out calibrated.yaml
    infereco calibrate runs/*.json --model llama-3-8b --hardware h100-sxm --tp 1 --json

A fleet-schema CSV (AIConfigurator / InferenceX serving runs: `model_path`, `system`, `backend`, layouts,
`silicon_ttft_ms`, `silicon_tpot_ms`) fits engine profiles per backend × GPU generation instead:

    infereco calibrate serving_runs.csv --out profiles.yaml --configs hf_configs/

Otherwise RUNS are vLLM result files (`vllm bench serve --save-result`, or the older benchmark_serving.py),
directories of them, or plain CSV files of the same quantities. `--model` and `--hardware` take catalog ids or
YAML files (a model may also be a Hugging Face config.json). The written YAML is a hardware spec in the
catalog's format, with the fit's provenance under `notes`; pass it back as `--hardware FILE` anywhere, or load
it in Python with `infereco.calibration.load_calibrated_hardware`.

Parser only; the handler is infereco/cli/_run_calibrate.py.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from infereco.cli._common import catalog_id, check_output_file, check_plot_file
from infereco.errors import SpecError
from infereco.specs.terms import CALIBRATION_TERMS  # stdlib only: no JAX at --help

ENGINES = ("vllm-gpu", "vllm-cpu", "static")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="fit achieved bandwidth/FLOP fractions and overheads to measured runs; write a calibrated spec",
        description="Fit interpretable calibration terms to measured runs by robust least squares on log "
        "TPOT, TTFT and output throughput; print them with standard errors and fit quality, and write the "
        "calibrated hardware spec.\n\ncalibration terms (--fit names):\n"
        + "\n".join(f"  {t.name} [{t.unit}]: {t.description}" for t in CALIBRATION_TERMS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    p.add_argument(
        "runs", nargs="+", metavar="RUNS", help="result files (*.json, *.csv) or directories of *.json"
    )
    p.add_argument(
        "--model",
        type=catalog_id,
        help="catalog model id, model YAML or HF config.json (required unless RUNS is a fleet-schema CSV)",
    )
    p.add_argument(
        "--hardware",
        type=catalog_id,
        help="catalog hardware id or hardware YAML (required unless RUNS is a fleet-schema CSV)",
    )
    p.add_argument(
        "--configs",
        action="append",
        default=[],
        metavar="DIR",
        help="fleet CSV: a folder of Hugging Face configs named <org>--<name>_config.json (repeatable)",
    )
    p.add_argument(
        "--tp", type=int, default=None, help="tensor-parallel degree of the runs (files do not record it)"
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="vllm-gpu",
        help="engine defaults for the token budget: vllm-gpu (8192 tokens/step), vllm-cpu (2048), "
        "static (offline static batches)",
    )
    p.add_argument(
        "--max-num-batched-tokens", type=float, default=None, help="override the engine's token budget"
    )
    p.add_argument(
        "--fit",
        default="auto",
        help="comma-separated terms to fit ("
        + ", ".join(t.name for t in CALIBRATION_TERMS)
        + "), or 'auto' (identifiable ones; the default)",
    )
    p.add_argument(
        "--loss",
        default="soft_l1",
        choices=("soft_l1", "huber", "cauchy", "arctan", "linear"),
        help="robust loss of the least-squares fit (default soft_l1)",
    )
    p.add_argument(
        "--bootstrap", type=int, default=0, metavar="N", help="also N case-resampling bootstrap refits"
    )
    p.add_argument("--preset", default="default", help="assumption preset (default, erdil-2024, erdil-paper)")
    p.add_argument(
        "--out", default=None, metavar="FILE", help="write the calibrated hardware spec (YAML) here"
    )
    p.add_argument("--plot", default=None, metavar="FILE", help="write measured vs predicted (PNG) here")
    p.add_argument("--no-runs", action="store_true", help="leave the per-run table out of the report")
    p.add_argument("--json", action="store_true", help="print JSON instead of a report")
    p.set_defaults(func="infereco.cli._run_calibrate:run", check=check)


def check(args) -> None:
    check_output_file(args.out, "--out", ("yaml", "yml"))
    for d in args.configs:
        if not os.path.isdir(d):
            raise SpecError(f"--configs {d}: not a folder (expected a folder of <org>--<name>_config.json)")
    check_plot_file(args.plot)
