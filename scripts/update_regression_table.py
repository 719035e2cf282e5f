#!/usr/bin/env python
"""Recompute the regression gate's key figures and write tests/data/regression/key_figures.json.

    python scripts/update_regression_table.py            # rewrite the table
    python scripts/update_regression_table.py --check    # compare only (exit 1 and list what moved)

Key figures, for each catalog pair (Llama 3 8B / 70B, Llama 3.1 405B, Mixtral 8x22B, Mistral Large 2 on H100
SXM, H200, A100 SXM 80G) under the presets `default` and `erdil-2024`, at a context of 1,000 tokens with the
`continuous` search on the default grid: the maximum speed, the preferred point at α = 3 and the cost floor
(tokens/s per request, $/M tokens, GPUs, batch). `tests/test_regression_key_figures.py` checks the stored
table to 1e-6 relative. A change that moves a figure must update the table on purpose: run this script, review
`git diff tests/data/regression/key_figures.json`, and say why the numbers moved in the commit message.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TABLE = REPO / "tests" / "data" / "regression" / "key_figures.json"
MODELS = ("llama-3-8b", "llama-3-70b", "llama-3.1-405b", "mixtral-8x22b", "mistral-large-2")
HARDWARE = ("h100-sxm", "h200", "a100-sxm-80g")
PRESETS = ("default", "erdil-2024")
CONTEXT_LENGTH = 1000
SEARCH = "continuous"
ALPHA = 3.0
BACKEND = "jax"
POINT_FIELDS = ("tokens_per_s_per_request", "usd_per_million_tokens", "n_gpu", "batch_size")
RTOL = 1e-6


def settings() -> dict:
    from infereco.search.erdil_grid import GridSpec

    return {
        "context_length": CONTEXT_LENGTH,
        "search": SEARCH,
        "alpha": ALPHA,
        "backend": BACKEND,
        "grid": dataclasses.asdict(GridSpec()),
        "models": list(MODELS),
        "hardware": list(HARDWARE),
        "presets": list(PRESETS),
        "rtol": RTOL,
    }


def key(preset: str, model: str, hardware: str) -> str:
    return f"{preset}/{model}/{hardware}"


def compute() -> dict[str, dict]:
    """{preset/model/hardware: {max_speed, preferred_alpha_3, cost_floor}}, each a dict of POINT_FIELDS."""
    from infereco import pareto_frontier
    from infereco.search.erdil_grid import GridSpec

    figures: dict[str, dict] = {}
    for preset in PRESETS:
        for model in MODELS:
            for hardware in HARDWARE:
                f = pareto_frontier(
                    model,
                    hardware,
                    context_length=CONTEXT_LENGTH,
                    preset=preset,
                    search=SEARCH,
                    backend=BACKEND,
                    grid=GridSpec(),
                )
                if f.empty:
                    figures[key(preset, model, hardware)] = {"empty": f.reason}
                    continue
                pick = lambda p: {k: float(getattr(p, k)) for k in POINT_FIELDS}  # noqa: E731
                figures[key(preset, model, hardware)] = {
                    "max_speed": pick(f.max_speed()),
                    "preferred_alpha_3": pick(f.preferred(alpha=ALPHA)),
                    "cost_floor": pick(f.min_cost()),
                }
    return figures


def differences(stored: dict[str, dict], fresh: dict[str, dict], rtol: float = RTOL) -> list[str]:
    """One line per figure that moved beyond `rtol` (or appeared, or vanished)."""
    out = []
    for k in sorted(set(stored) | set(fresh)):
        if k not in fresh:
            out.append(f"{k}: in the table but no longer computed")
            continue
        if k not in stored:
            out.append(f"{k}: computed but not in the table")
            continue
        a, b = stored[k], fresh[k]
        if ("empty" in a) != ("empty" in b):
            out.append(
                f"{k}: {'empty' if 'empty' in a else 'non-empty'} frontier became "
                f"{'empty' if 'empty' in b else 'non-empty'}"
            )
            continue
        for point in sorted(set(a) - {"empty"}):
            for field in POINT_FIELDS:
                x, y = a[point][field], b[point][field]
                if not math.isclose(x, y, rel_tol=rtol, abs_tol=0.0):
                    out.append(f"{k} {point}.{field}: {x:.9g} -> {y:.9g} ({(y - x) / x:+.3e} relative)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored table; write nothing")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    fresh = compute()
    elapsed = time.perf_counter() - t0
    if args.check:
        stored = json.loads(TABLE.read_text())["figures"]
        moved = differences(stored, fresh)
        print("\n".join(moved) or f"all {len(fresh)} pairs match ({elapsed:.1f} s)")
        return 1 if moved else 0
    import infereco

    payload = {
        "about": "Regression gate: key figures of the main catalog pairs. Regenerate with "
        "`python scripts/update_regression_table.py` and give the reason in the commit message.",
        "infereco_version": infereco.__version__,
        "settings": settings(),
        "figures": fresh,
    }
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n")
    print(f"wrote {TABLE.relative_to(REPO)}: {len(fresh)} pairs in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
