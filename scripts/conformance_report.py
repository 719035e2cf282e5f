"""Conformance of infereco with the reference notebook's frontiers (Erdil 2025,
ege-erdil/inference-economics @ 589a102).

For every series of `shared/reference/erdil/*.json`, compute the same frontier with
`pareto_frontier(..., preset="erdil-2024", search="erdil-grid")` and print a markdown table of:

- n: reference frontier points compared (those inside infereco's speed range);
- median and 95th-percentile relative error of $/M tokens at the reference speeds (log-log interpolation);
- relative error of the maximum speed;
- relative error of the preferred point (α = 4, the notebook's): speed and $/M.

    python scripts/conformance_report.py                   # print the table
    python scripts/conformance_report.py --write-docs      # also refresh the generated blocks of
                                                           # docs/validation.md
    python scripts/conformance_report.py --reference DIR   # another folder of reference JSON files

`--write-docs` also refreshes the GPU decode block from `scripts/compare_gpu_decode.py`.
Exit code 1 when any series misses the contract (median 0.5%, p95 2%, max speed 1%, preferred 2%).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "erdil"
DOC = REPO / "docs" / "validation.md"

from infereco.specs.presets import ERDIL_2024_HARDWARE as HARDWARE  # noqa: E402  reference names → catalog
from infereco.specs.presets import ERDIL_2024_MODELS as MODELS  # noqa: E402

ALPHA = 4.0  # the notebook's preference exponent
START = time.perf_counter()
CONTRACT = {"median": 0.005, "p95": 0.02, "max_speed": 0.01, "preferred": 0.02}


def compare_series(s: dict) -> dict:
    """Errors of infereco's frontier against one reference series."""
    from infereco import pareto_frontier

    t0 = time.perf_counter()
    f = pareto_frontier(
        MODELS[s["model"]],
        HARDWARE[s["gpu"]],
        context_length=s["input_len"],
        max_throughput_tokens_per_s=s["max_tput"],
        preset="erdil-2024",
        search="erdil-grid",
    )
    seconds = time.perf_counter() - t0
    x = f.columns["tokens_per_s_per_request"]
    y = f.columns["usd_per_million_tokens"]
    rx = np.asarray(s["x_tok_per_s_per_req"], float)
    ry = np.asarray(s["y_usd_per_mtok"], float)
    order = np.argsort(x)
    inside = (rx >= x.min()) & (rx <= x.max())
    y_at = np.exp(np.interp(np.log(rx[inside]), np.log(x[order]), np.log(y[order])))
    err = np.abs(y_at / ry[inside] - 1.0)
    p = f.preferred(alpha=ALPHA)
    ref_p = s["preferred"]
    return {
        "name": s["name"],
        "n_reference": int(rx.size),
        "n_compared": int(inside.sum()),
        "n_infereco": len(f),
        "median": float(np.median(err)),
        "p95": float(np.percentile(err, 95)),
        "max": float(err.max()),
        "max_speed": abs(f.max_speed().tokens_per_s_per_request / s["max_speed"] - 1.0),
        "preferred_speed": abs(p.tokens_per_s_per_request / ref_p["tokens_per_second_per_request"] - 1.0),
        "preferred_cost": abs(p.usd_per_million_tokens / ref_p["price_dollars_per_million_tokens"] - 1.0),
        "max_speed_tok_s": f.max_speed().tokens_per_s_per_request,
        "preferred_tok_s": p.tokens_per_s_per_request,
        "preferred_usd_per_m": p.usd_per_million_tokens,
        "seconds": seconds,
    }


def passes(r: dict) -> bool:
    return (
        r["median"] <= CONTRACT["median"]
        and r["p95"] <= CONTRACT["p95"]
        and r["max_speed"] <= CONTRACT["max_speed"]
        and max(r["preferred_speed"], r["preferred_cost"]) <= CONTRACT["preferred"]
    )


def report(reference: Path) -> tuple[str, bool]:
    """Markdown table of every series in `reference/*.json` and whether all pass the contract."""
    files = sorted(reference.glob("*.json"))
    if not files:
        return f"No reference files found in `{reference}`.\n", False
    header = (
        "| file | series | n | median rel. error of $/M | p95 rel. error of $/M | max speed (tok/s) | "
        "rel. error of max speed | preferred (tok/s @ $/M) | rel. error of preferred speed, $/M |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    ok = True
    for path in files:
        for s in json.loads(path.read_text())["series"]:
            r = compare_series(s)
            ok &= passes(r)
            lines.append(
                f"| {path.stem} | {r['name']} | {r['n_compared']}/{r['n_reference']} | {r['median']:.1e} "
                f"| {r['p95']:.1e} | "
                f"{r['max_speed_tok_s']:.2f} | {r['max_speed']:.1e} | "
                f"{r['preferred_tok_s']:.2f} @ {r['preferred_usd_per_m']:.3f} | "
                f"{r['preferred_speed']:.1e}, {r['preferred_cost']:.1e} |"
            )
    lines.append("")
    lines.append(
        f"Contract: median ≤ {CONTRACT['median']:.1%}, p95 ≤ {CONTRACT['p95']:.0%}, max speed ≤ "
        f"{CONTRACT['max_speed']:.0%}, preferred point (α = {ALPHA:g}) ≤ {CONTRACT['preferred']:.0%}. "
        f"Result: **{'all series pass' if ok else 'SOME SERIES FAIL'}**."
    )
    return "\n".join(lines) + "\n", ok


def gpu_decode_table() -> str:
    """The output of scripts/compare_gpu_decode.py (measured GPU decode steps against the prediction)."""
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compare_gpu_decode.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    lines = out.stdout.rstrip("\n").splitlines()
    # A markdown table must start its own block: a blank line after the caption line(s).
    first = next((i for i, ln in enumerate(lines) if ln.startswith("|")), len(lines))
    if first > 0:
        lines = [f"*{ln}*" for ln in lines[:first]] + [""] + lines[first:]
    return "\n".join(lines) + "\n"


def replace_block(text: str, name: str, body: str) -> str:
    start, end = f"<!-- generated:{name}:start -->", f"<!-- generated:{name}:end -->"
    i, j = text.index(start) + len(start), text.index(end)
    return text[:i] + "\n" + body.rstrip("\n") + "\n" + text[j:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--reference", type=Path, default=DEFAULT_REFERENCE, help="folder of reference JSON files"
    )
    ap.add_argument(
        "--write-docs", action="store_true", help=f"refresh the generated blocks of {DOC.relative_to(REPO)}"
    )
    args = ap.parse_args(argv)
    table, ok = report(args.reference)
    print(table)
    print(
        f"({sum(1 for _ in args.reference.glob('*.json'))} reference files; "
        f"{time.perf_counter() - START:.1f} s including JAX compilation)",
        file=sys.stderr,
    )
    if args.write_docs:
        text = DOC.read_text()
        text = replace_block(text, "conformance", table)
        text = replace_block(text, "gpu-decode", gpu_decode_table())
        DOC.write_text(text)
        print(f"updated {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
