"""Handler of `infereco predict` (parser: infereco/cli/predict.py) and of `infereco calibrate` on fleet
CSVs."""

from __future__ import annotations

import math
import sys
import time

from infereco.calibration.fleet import FleetModel, predict_fleet
from infereco.calibration.profiles import calibrate_fleet, default_profiles_path, load_profiles, save_profiles
from infereco.calibration.readers import load_fleet_runs
from infereco.cli._common import print_json


def _pct(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{100 * x:.1f}%"


def summary_table(rows) -> str:
    heads = ("backend", "system", "n", "ok", "TTFT MAPE", "TTFT MdAPE", "TPOT MAPE", "TPOT MdAPE",
             "TTFT in 90%", "TPOT in 90%")  # fmt: skip
    body = [
        (r["backend"], r["system"], str(r["n"]), str(r["ok"]), _pct(r["ttft_mape"]),
         _pct(r["ttft_median_ape"]), _pct(r["tpot_mape"]), _pct(r["tpot_median_ape"]),
         _pct(r["ttft_coverage"]), _pct(r["tpot_coverage"]))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(heads)]

    def line(cells):
        return "  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(heads), line(["─" * w for w in widths]), *(line(b) for b in body)])


def run(args) -> int:
    t0 = time.perf_counter()
    runs = load_fleet_runs(args.runs)
    profiles, source = None, "uncalibrated theory (nominal efficiencies)"
    if args.profile:
        profiles, source = load_profiles(args.profile), f"profiles {args.profile}"
    elif not args.uncalibrated and default_profiles_path().is_file():
        profiles, source = load_profiles(), f"shipped profiles {default_profiles_path().name}"
    pred = predict_fleet(FleetModel(runs, args.configs), profiles=profiles)
    pred.write_csv(args.out)
    rows = pred.summary()
    if args.json:
        print_json({"source": source, "out": args.out, "summary": rows})
    else:
        print(f"{len(runs)} runs from {args.runs}, predicted with {source}; written to {args.out}")
        print(summary_table(rows))
        bad = len(pred) - int(pred.ok.sum())
        if bad:
            print(f"{bad} rows not predicted (see their status column)")
    print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


def run_fleet_calibrate(args, path: str) -> int:
    t0 = time.perf_counter()
    fm = FleetModel(load_fleet_runs(path), args.configs)
    fit = None if args.fit.strip() == "auto" else [s.strip() for s in args.fit.split(",") if s.strip()]
    profiles = calibrate_fleet(fm, fit=fit)
    if args.out:
        save_profiles(
            profiles, args.out, data=str(path), command=" ".join(["infereco calibrate", *sys.argv[2:]])
        )
    if args.json:
        print_json({"profiles": [
            {"backend": p.backend, "generation": p.generation, "n_rows": p.n_rows, "terms": vars(p.terms),
             "log_std_errors": dict(p.log_std_errors), "fit_mape": dict(p.fit_mape)}
            for p in profiles.profiles
        ]})  # fmt: skip
    else:
        for p in profiles.profiles:
            terms = ", ".join(f"{k}={v:.3g}" for k, v in vars(p.terms).items())
            print(f"{p.backend} × {p.generation} ({p.n_rows} runs): {terms}; fit MAPE TTFT "
                  f"{_pct(p.fit_mape['ttft'])}, TPOT {_pct(p.fit_mape['tpot'])}")  # fmt: skip
        if args.out:
            print(f"profiles written to {args.out}")
    print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0
