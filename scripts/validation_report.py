#!/usr/bin/env python3
"""Validation report: calibrate on part of the measured runs, predict the rest, print tables and write plots.

    python scripts/validation_report.py                # every case with data here; plots to docs/img/
    python scripts/validation_report.py --json out.json
    python scripts/validation_report.py --no-plots --quiet

Cases (see infereco/calibration/validate.py): the real vLLM CPU runs in tests/data/vllm_cpu_runs/ under three
splits, the public TensorRT-LLM static-batch tables (H100 FP8) under two, and the H200 decode steps timed
here. Then the uncalibrated theory (datasheet peaks × the paper's 70% FLOP / 75% bandwidth caps, no overheads)
against the public table's measured decode throughput. Runs in about 10 s on a laptop CPU.

Every data path is an option (defaults: the repository's tests/data/ and ../shared/reference/measured/), so
the report runs against an installed package too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infereco.calibration.result import FIT_QUANTITIES, _text_table
from infereco.calibration.validate import (
    CPU_SPLITS,
    PUBLIC_SPLITS,
    TARGETS,
    ValidationCase,
    uncalibrated_gpu_decode,
    uncalibrated_public,
    validate_cpu_runs,
    validate_gpu_decode,
    validate_public_static,
)
from infereco.plot.calibration import plot_validation_cases

REPO = Path(__file__).resolve().parent.parent

DATA = REPO / "tests" / "data"
DEFAULT_CPU_RUNS = DATA / "vllm_cpu_runs"
DEFAULT_CALIBRATION_DIR = DATA / "calibration"
DEFAULT_GPU_DECODE = DATA / "gpu_decode" / "h200_llama3_8b_bf16.json"
DEFAULT_PUBLIC_CSV = REPO.parent / "shared" / "reference" / "measured" / "public_measurements.csv"


def run_all(
    *,
    cpu_runs: Path = DEFAULT_CPU_RUNS,
    calibration_dir: Path = DEFAULT_CALIBRATION_DIR,
    gpu_decode: Path = DEFAULT_GPU_DECODE,
    public_csv: Path | None = DEFAULT_PUBLIC_CSV,
) -> dict:
    """Every validation case that has data (CPU runs only when the result files exist, the public cases only
    when the table does)."""
    cases: list[ValidationCase] = []
    if any(Path(cpu_runs).glob("*.json")):
        for split in CPU_SPLITS:
            cases.append(validate_cpu_runs(split, runs_dir=cpu_runs, calibration_dir=calibration_dir))
    public = public_csv if public_csv is not None and Path(public_csv).is_file() else None
    if public is not None:
        for split in PUBLIC_SPLITS:
            cases.append(validate_public_static(split, public_csv=public))
    gpu = Path(gpu_decode).is_file()
    if gpu:
        cases.append(validate_gpu_decode(gpu_decode))
    return {
        "cases": cases,
        "uncalibrated": uncalibrated_public(public_csv=public) if public is not None else None,
        "uncalibrated_gpu_decode": uncalibrated_gpu_decode(gpu_decode) if gpu else None,
    }


def summary_table(cases: Sequence[ValidationCase]) -> str:
    """One line per case: median |% error| per quantity (held-out), 90% PI coverage, noise floor."""
    rows = []
    for c in cases:
        s = c.summary
        t = c.targets()

        def cell(q, s=s, t=t, c=c):
            if q not in s:
                return "—"
            mark = "" if t[q][2] else " ✗"
            nf = c.noise_floor.get(q)
            return f"{s[q]['median_abs_pct_error']:.1f}{mark}" + (
                f" (floor {nf:.0f})" if nf is not None else ""
            )

        n = max(s[q]["n"] for q in c.quantities)
        cov = c.coverage
        rows.append(
            [
                c.name,
                n,
                cell("tpot_s"),
                cell("output_throughput_tokens_per_s"),
                cell("ttft_s"),
                f"{cov * 100:.0f}%" + ("" if cov >= TARGETS["coverage"] else " ✗"),
            ]
        )
    heads = ["case (held-out)", "n", "TPOT med|err|%", "out tok/s med|err|%", "TTFT med|err|%", "in 90% PI"]
    return _text_table(rows, heads) + (
        "\ntargets: TPOT and output throughput ≤ 10%, TTFT ≤ 25%, ≥ 80% inside the 90% PI; ✗ = missed; "
        "(floor N) = median |% deviation| of repeated runs from their mean"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--img-dir", default=str(REPO / "docs" / "img"), help="where the PNG plots go")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--json", default=None, help="also write every number as JSON here")
    ap.add_argument("--quiet", action="store_true", help="summary only (no per-run tables)")
    ap.add_argument(
        "--cpu-runs", type=Path, default=DEFAULT_CPU_RUNS, help="folder of the vLLM CPU result files"
    )
    ap.add_argument(
        "--calibration-dir",
        type=Path,
        default=DEFAULT_CALIBRATION_DIR,
        help="folder of tiny-llama.yaml and cpu-2core-sandbox.yaml",
    )
    ap.add_argument(
        "--gpu-decode", type=Path, default=DEFAULT_GPU_DECODE, help="H200 decode-step timings (JSON)"
    )
    ap.add_argument(
        "--public-csv", type=Path, default=DEFAULT_PUBLIC_CSV, help="the public measurements table"
    )
    args = ap.parse_args(argv)

    out = run_all(
        cpu_runs=args.cpu_runs,
        calibration_dir=args.calibration_dir,
        gpu_decode=args.gpu_decode,
        public_csv=args.public_csv,
    )
    cases = out["cases"]
    for c in cases:
        print(f"\n=== {c.name}: {c.description}")
        print(c.result.report(runs=False))
        if not args.quiet:
            print("\nheld-out runs, predicted vs measured:")
            print(c.test.table([q for q in FIT_QUANTITIES if q in c.quantities]))
    print("\n=== Summary (held-out runs only)")
    print(summary_table(cases))
    u = out["uncalibrated"]
    if u is not None:
        print(f"\n=== Uncalibrated theory vs measured decode throughput ({u.note})")
    for subset in ("static batch", "TRT-LLM 0.17 max throughput") if u is not None else ():
        s = u.stats(subset)
        if s.get("n"):
            print(
                f"{subset:30s} n={s['n']:3d}  median |err| {s['median_abs_pct_error']:.0f}%  median measured/"
                f"predicted {s['median_measured_over_predicted']:.2f}  range {s['min_ratio']:.2f}-"
                f"{s['max_ratio']:.2f}  within 2x: {s['within_2x'] * 100:.0f}%"
            )
    g = out.get("uncalibrated_gpu_decode")
    if g:
        print(
            f"{'H200 decode steps (timed here)':30s} n={g['n']:3d}  "
            f"median |err| {g['median_abs_pct_error']:.0f}%  "
            f"median measured/predicted step time {g['median_measured_over_predicted']:.2f}"
        )
    if not args.no_plots:
        img = Path(args.img_dir)
        img.mkdir(parents=True, exist_ok=True)
        groups = {
            "cpu": [c for c in cases if c.name.startswith("vLLM CPU")],
            "gpu": [c for c in cases if not c.name.startswith("vLLM CPU")],
        }
        for name, group in groups.items():
            if group:
                path = img / f"validation_{name}.png"
                plot_validation_cases(group, str(path))
                print(f"plot written to {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if args.json:
        data = {
            "cases": [c.to_dict() for c in cases],
            "summary_table": summary_table(cases),
            "uncalibrated": None
            if u is None
            else {
                "note": u.note,
                "rows": u.rows,
                "stats": {k: u.stats(k) for k in ("static batch", "TRT-LLM 0.17 max throughput")},
            },
            "uncalibrated_gpu_decode": g,
        }
        Path(args.json).write_text(json.dumps(data, indent=1, default=float), encoding="utf-8")
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
