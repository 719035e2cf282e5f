#!/usr/bin/env python3
"""Error analysis of the fleet predictions: residual log-ratios log(measured / predicted) of TTFT and TPOT,
grouped by backend, system, model, mode, concurrency, lengths, precision and layout, and the worst rows.

    python scripts/fleet_errors.py                   # uncalibrated theory
    python scripts/fleet_errors.py --profile P.yaml  # under fitted profiles
    python scripts/fleet_errors.py --calibrate       # fit in-sample (quick) first
    python scripts/fleet_errors.py --by model,system --worst 30 --csv out.csv

Per group: n, the median and the 10th/90th percentiles of the log ratio for each quantity (exp of the median
= measured/predicted), and the share of rows within 2×. A group whose median is far from 0 names a missing
effect; one with a wide spread names a variable the model does not follow.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infereco.calibration.fleet import FleetModel, predict_fleet  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "reference"


def _bucket(x: float, edges) -> str:
    for e in edges:
        if x <= e:
            return f"<={e}"
    return f">{edges[-1]}"


def features(run) -> dict[str, str]:
    """The grouping labels of one row."""
    p, d = run.prefill, run.decode
    lay = f"tp{d.tp}/adp{d.attention_dp or 1}/ep{d.moe_ep or 1}"
    if run.mode == "disagg":
        lay = f"P[tp{p.tp}/adp{p.attention_dp or 1}/ep{p.moe_ep or 1}] D[{lay}]"
    c = run.concurrency or 0
    per_rank = c / max((d.attention_dp or 1), 1)
    return {
        "backend": run.backend,
        "system": run.system,
        "model": run.model_path.split("/")[-1],
        "mode": run.mode,
        "precision": f"{run.precision}/{run.gemm_quant_mode}/{run.moe_quant_mode}",
        "isl": str(run.isl),
        "osl": str(run.osl),
        "isl_osl": f"{run.isl}x{run.osl}",
        "conc": _bucket(c, (1, 4, 16, 64, 256, 1024)),
        "conc_per_rank": _bucket(per_rank, (1, 4, 16, 64, 256)),
        "adp": "adp" if (d.attention_dp or 1) > 1 else "noadp",
        "tp": str(d.tp),
        "layout": lay,
        "disagg_counts": ("given" if run.decode.batch is not None else "missing")
        if run.mode == "disagg"
        else "-",
        "batch_vs_conc": "agg-batch≠C" if (run.mode == "agg" and run.prefill.batch not in (None, c)) else "",
        "source": "db-dump"
        if "db-dump" in run.columns.get("silicon_data_source", "")
        else ("gap-analysis" if "gap-analysis" in run.columns.get("silicon_data_source", "") else "2026-csv"),
    }


def log_ratios(fm, pred):
    meas_t = np.array([r.ttft_s or np.nan for r in fm.runs])
    meas_p = np.array([r.tpot_s or np.nan for r in fm.runs])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(meas_t / pred.ttft_s), np.log(meas_p / pred.tpot_s)


def group_table(fm, lt, lp, by: str, min_n: int = 5) -> list[str]:
    feats = [features(r) for r in fm.runs]
    keys = sorted({tuple(f[b] for b in by.split(",")) for f in feats})
    out = [
        f"### by {by}",
        "",
        f"| {by} | n | TTFT ×med | p10 | p90 | TTFT in 2× | TPOT ×med | p10 | p90 | TPOT in 2× |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in keys:
        idx = [i for i, f in enumerate(feats) if tuple(f[b] for b in by.split(",")) == k]
        a, b = lt[idx], lp[idx]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if a.size < min_n and b.size < min_n:
            continue

        def s(x):
            if not x.size:
                return "— | — | — | —"
            q = np.percentile(x, [50, 10, 90])
            return (
                f"{math.exp(q[0]):.2f} | {math.exp(q[1]):.2f} | {math.exp(q[2]):.2f} | "
                f"{100 * np.mean(np.abs(x) <= math.log(2)):.0f}%"
            )

        out.append(f"| {'/'.join(k)} | {len(idx)} | {s(a)} | {s(b)} |")
    return out + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default=str(SHARED / "measured" / "fleet" / "serving_runs.csv"))
    ap.add_argument("--configs", default=str(SHARED / "hf_configs"))
    ap.add_argument("--profile", default=None)
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument(
        "--by",
        default="backend;system;model;mode;precision;isl_osl;conc;conc_per_rank;adp;"
        "disagg_counts;batch_vs_conc;source;mode,system;mode,model;backend,system",
        help="groupings separated by ';', a grouping's features by ','",
    )
    ap.add_argument("--worst", type=int, default=20)
    ap.add_argument("--csv", default=None, help="write every row with its prediction and log ratios")
    args = ap.parse_args(argv)
    fm = FleetModel(args.runs, [args.configs])
    profiles = args.profile
    if args.calibrate:
        from infereco.calibration.profiles import calibrate_fleet

        profiles = calibrate_fleet(fm, max_nfev=25)
    pred = predict_fleet(fm, profiles=profiles)
    lt, lp = log_ratios(fm, pred)
    ok = pred.ok
    lines = [f"rows {len(fm)}, ok {int(ok.sum())}; log ratio = log(measured / predicted)", ""]
    fin = np.isfinite(lt) & np.isfinite(lp)
    lines.append(
        f"TPOT within 2×: {100 * np.mean(np.abs(lp[fin]) <= math.log(2)):.1f}%; "
        f"TTFT within 2×: {100 * np.mean(np.abs(lt[fin]) <= math.log(2)):.1f}%; "
        f"TPOT MAPE {100 * np.mean(np.abs(np.exp(-lp[fin]) - 1)):.1f}%, "
        f"TTFT MAPE {100 * np.mean(np.abs(np.exp(-lt[fin]) - 1)):.1f}%"
    )
    lines.append("")
    for by in args.by.split(";"):
        lines += group_table(fm, lt, lp, by)
    for q, lr in (("TTFT", lt), ("TPOT", lp)):
        order = np.argsort(-np.abs(np.where(np.isfinite(lr), lr, 0)))[: args.worst]
        lines += [f"### worst {q}", ""]
        for i in order:
            r = fm.runs[i]
            lines.append(
                f"- ×{math.exp(lr[i]):.2f} {r.id} C={r.concurrency} "
                f"meas {1e3 * getattr(r, q.lower() + '_s'):.4g} ms "
                f"pred {1e3 * getattr(pred, q.lower() + '_s')[i]:.4g} | {pred.assumptions[i]}"
            )
        lines.append("")
    nok = [i for i in range(len(fm)) if not ok[i]]
    from collections import Counter

    lines += ["### not predicted", ""] + [
        f"- {v} × {k}" for k, v in Counter(pred.status[i] for i in nok).items()
    ]
    print("\n".join(lines))
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.writer(fh)
            feats0 = list(features(fm.runs[0]))
            w.writerow(
                [
                    "id",
                    *feats0,
                    "C",
                    "meas_ttft_ms",
                    "pred_ttft_ms",
                    "meas_tpot_ms",
                    "pred_tpot_ms",
                    "lr_ttft",
                    "lr_tpot",
                    "status",
                ]
            )
            for i, r in enumerate(fm.runs):
                f = features(r)
                w.writerow(
                    [
                        r.id,
                        *[f[k] for k in feats0],
                        r.concurrency,
                        (r.ttft_s or 0) * 1e3,
                        pred.ttft_s[i] * 1e3,
                        (r.tpot_s or 0) * 1e3,
                        pred.tpot_s[i] * 1e3,
                        lt[i],
                        lp[i],
                        pred.status[i],
                    ]
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
