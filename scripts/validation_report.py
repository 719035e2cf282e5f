#!/usr/bin/env python3
"""Validation report: calibrate on part of the measured runs, predict the rest, print tables and write plots.

    python scripts/validation_report.py                # every case with data here; plots to docs/img/
    python scripts/validation_report.py --json out.json
    python scripts/validation_report.py --no-plots --quiet

Cases (see infereco/calibration/validate.py): the real vLLM CPU runs in tests/data/vllm_cpu_runs/ under three
splits, the public TensorRT-LLM static-batch tables (H100 FP8) under two, and the H200 decode steps timed here.
Then the uncalibrated theory (datasheet peaks × the paper's 70% FLOP / 75% bandwidth caps, no overheads) against
the public table's measured decode throughput. Runs in about 10 s on a laptop CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--img-dir", default=str(REPO / "docs" / "img"), help="where the PNG plots go")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--json", default=None, help="also write every number as JSON here")
    ap.add_argument("--quiet", action="store_true", help="summary only (no per-run tables)")
    args = ap.parse_args(argv)

    from infereco.calibration.fit import FIT_QUANTITIES
    from infereco.calibration.validate import run_all, summary_table

    out = run_all()
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
    print(f"\n=== Uncalibrated theory vs measured decode throughput ({u.note})")
    for subset in ("static batch", "TRT-LLM 0.17 max throughput"):
        s = u.stats(subset)
        if s.get("n"):
            print(f"{subset:30s} n={s['n']:3d}  median |err| {s['median_abs_pct_error']:.0f}%  median measured/"
                  f"predicted {s['median_measured_over_predicted']:.2f}  range {s['min_ratio']:.2f}-"
                  f"{s['max_ratio']:.2f}  within 2x: {s['within_2x'] * 100:.0f}%")
    g = out.get("uncalibrated_gpu_decode")
    if g:
        print(f"{'H200 decode steps (timed here)':30s} n={g['n']:3d}  median |err| {g['median_abs_pct_error']:.0f}%  "
              f"median measured/predicted step time {g['median_measured_over_predicted']:.2f}")
    if not args.no_plots:
        from infereco.plot.calibration import plot_validation_cases

        img = Path(args.img_dir)
        img.mkdir(parents=True, exist_ok=True)
        groups = {"cpu": [c for c in cases if c.name.startswith("vLLM CPU")],
                  "gpu": [c for c in cases if not c.name.startswith("vLLM CPU")]}
        for name, group in groups.items():
            if group:
                path = img / f"validation_{name}.png"
                plot_validation_cases(group, str(path))
                print(f"plot written to {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if args.json:
        data = {"cases": [c.to_dict() for c in cases], "summary_table": summary_table(cases),
                "uncalibrated": {"note": u.note, "rows": u.rows,
                                 "stats": {k: u.stats(k) for k in ("static batch", "TRT-LLM 0.17 max throughput")}},
                "uncalibrated_gpu_decode": g}
        Path(args.json).write_text(json.dumps(data, indent=1, default=float), encoding="utf-8")
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
