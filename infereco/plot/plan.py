"""Chart of a capacity plan: each ranked plan's monthly cost against its p90 TTFT, one marker per accelerator.

>>> from infereco.planning import plan
>>> r = plan({"model": "llama-3-8b", "traffic": {"requests_per_s": 2, "input_tokens": 1000,
...           "output_tokens": 200}, "slo": {"ttft_s": {"p90": 1.0}},
...           "candidates": {"hardware": ["h100-sxm"], "engines": ["vllm"], "modes": ["aggregated"]}})
>>> plot_plans(r).get_yscale()
'log'
"""

from __future__ import annotations

import matplotlib.pyplot as plt

_MARKERS = "os^vD<>pPX*h"


def plot_plans(result, path: str | None = None, ax=None):
    """Scatter of the plans (USD per month, log) against p90 TTFT (s), the cheapest circled; the p90 TTFT
    target as a dashed line when the plan has one. Saves to `path` when given; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    by_hw: dict[str, list[dict]] = {}
    for p in result.plans:
        by_hw.setdefault(p["hardware"], []).append(p)
    for k, (hw, rows) in enumerate(sorted(by_hw.items())):
        ax.scatter(
            [r["ttft_s_p90"] for r in rows],
            [r["usd_per_month"] for r in rows],
            marker=_MARKERS[k % len(_MARKERS)],
            label=hw,
            alpha=0.8,
        )
    if result.plans:
        best = result.plans[0]
        ax.scatter([best["ttft_s_p90"]], [best["usd_per_month"]], s=220, facecolors="none", edgecolors="k")
    target = dict((p, v) for q, p, v in result.spec.slo.targets() if q == "ttft_s").get("p90")
    if target is not None:
        ax.axvline(target, ls="--", color="0.4", lw=1, label="TTFT p90 target")
    ax.set_yscale("log")
    ax.set_xlabel("p90 TTFT, s")
    ax.set_ylabel("USD per month")
    ax.set_title("Plans that meet the targets (cheapest circled)")
    if result.plans:
        ax.legend(fontsize=8)
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax
