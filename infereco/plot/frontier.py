"""Frontier plots: $/M tokens against tokens/s per request, MFU along the frontier, step-time breakdown."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from infereco.frontier import Frontier
from infereco.plot.style import finish, new_axes, series_styles

SPEED_LABEL = "tokens/s per request (serial speed)"
COST_LABEL = "USD per million output tokens"


def plot_frontier(
    frontiers,
    ax=None,
    labels: Sequence[str] | None = None,
    alpha: float | None = None,
    mark_preferred: bool = True,
    observed: Iterable | None = None,
    title: str | None = None,
    legend_loc: str = "best",
):
    """Plot one frontier or several on log-y axes with each preferred point marked; returns the Axes.

    `observed`: iterable of (label, tokens_per_s_per_request, usd_per_million_tokens) to overlay.

    >>> ax = plot_frontier(pareto_frontier("llama-3-8b", "h100-sxm", space={"max_gpus_per_instance": 8}))
    >>> ax.get_yscale(), ax.get_xlabel()
    ('log', 'tokens/s per request (serial speed)')
    """
    if isinstance(frontiers, Frontier):
        frontiers = [frontiers]
    ax = new_axes(ax)
    for i, (f, (color, ls, marker)) in enumerate(zip(frontiers, series_styles())):
        label = labels[i] if labels else _default_label(f)
        if f.empty:
            ax.plot([], [], color=color, ls=ls, label=f"{label} (no feasible point)")
            continue
        x = f.columns["tokens_per_s_per_request"]
        y = f.columns["usd_per_million_tokens"]
        o = np.argsort(x)
        ax.plot(x[o], y[o], color=color, ls=ls, lw=1.8, label=label)
        if mark_preferred:
            p = f.preferred(alpha)
            ax.plot(
                [p.tokens_per_s_per_request],
                [p.usd_per_million_tokens],
                marker=marker,
                color=color,
                ms=7,
                mfc="white",
                mew=1.6,
                ls="none",
            )
    if observed:
        for (name, speed, price), marker in zip(observed, ("*", "P", "X", "D", "v", "^")):
            ax.plot(
                [speed], [price], marker=marker, color="black", ms=9, ls="none", label=f"observed: {name}"
            )
    ax.set_yscale("log")
    ax.set_xlabel(SPEED_LABEL)
    ax.set_ylabel(COST_LABEL)
    if mark_preferred:
        ax.plot(
            [],
            [],
            marker="o",
            mfc="white",
            color="gray",
            ls="none",
            label=(
                "preferred point (max speed^α / price, "
                f"α = {alpha if alpha is not None else frontiers[0].default_alpha:g})"
            ),
        )
    if legend_loc == "best" and len(frontiers) > 4:
        legend_loc = "outside"  # more series than fit beside the curves
    return finish(ax, title or "Pareto frontier of inference cost against speed", legend_loc=legend_loc)


def plot_mfu(frontiers, ax=None, labels: Sequence[str] | None = None, title: str | None = None):
    """Model FLOP utilization along the frontier against tokens/s per request; returns the Axes."""
    if isinstance(frontiers, Frontier):
        frontiers = [frontiers]
    ax = new_axes(ax)
    for i, (f, (color, ls, _)) in enumerate(zip(frontiers, series_styles())):
        if f.empty:
            continue
        x = f.columns["tokens_per_s_per_request"]
        o = np.argsort(x)
        ax.plot(
            x[o],
            100 * f.columns["mfu"][o],
            color=color,
            ls=ls,
            lw=1.8,
            label=labels[i] if labels else _default_label(f),
        )
    ax.set_xlabel(SPEED_LABEL)
    ax.set_ylabel("model FLOP utilization (% of peak)")
    return finish(ax, title or "Utilization along the frontier")


def plot_breakdown(frontier, ax=None, title: str | None = None, min_speed: float | None = None):
    """Stacked step-time breakdown (HBM, arithmetic beyond HBM, network bandwidth, collective latency, kernel
    launches, draft) along the frontier, in ms per step; returns the Axes. `min_speed` (tokens/s per request)
    drops the slow end, whose long steps would otherwise squash the fast one."""
    ax = new_axes(ax)
    f = frontier
    if f.empty:
        ax.set_xlabel(SPEED_LABEL)
        ax.set_ylabel("time per step (ms)")
        return finish(ax, title or f"Step-time breakdown: empty frontier ({f.reason})")
    x = f.columns["tokens_per_s_per_request"]
    o = np.argsort(x)
    if min_speed is not None:
        o = o[x[o] >= min_speed]
    c = {
        k: np.asarray(f.columns[k], float)[o] * 1e3
        for k in ("memory_s", "compute_s", "network_bandwidth_s", "network_latency_s", "launch_s", "draft_s")
    }
    # max(memory, compute) overlaps: show the memory part and the arithmetic that sticks out above it.
    layers = [
        ("HBM reads (weights, KV)", c["memory_s"]),
        ("arithmetic above HBM time", np.maximum(c["compute_s"] - c["memory_s"], 0.0)),
        ("network bandwidth", c["network_bandwidth_s"]),
        ("collective latency", c["network_latency_s"]),
        ("kernel launches", c["launch_s"]),
        ("draft model", c["draft_s"]),
    ]
    hatches = ("", "//", "..", "xx", "\\\\", "--")
    base = np.zeros_like(x[o])
    for (label, vals), (color, _, _), hatch in zip(layers, series_styles(), hatches):
        if not np.any(vals > 0):
            continue
        ax.fill_between(
            x[o], base, base + vals, step=None, color=color, alpha=0.55, hatch=hatch, label=label, lw=0
        )
        base = base + vals
    ax.set_xscale("log")
    ax.set_xlabel(SPEED_LABEL)
    ax.set_ylabel("time per step (ms)")
    return finish(ax, title or f"Where the step time goes: {_default_label(f)}")


def _default_label(f) -> str:
    m = f.meta
    label = f"{m.get('model', '?')} on {m.get('hardware', '?')}"
    if m.get("context_length"):
        label += f", ctx {m['context_length']:,}"
    if m.get("speculative"):
        label += ", spec. decoding"
    return label
