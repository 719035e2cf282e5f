"""Charts for the economics: hourly cost, self-host vs cloud, cost vs concurrency, the production frontier.

Every function draws on `ax` (a new figure when None) and returns the Axes. Styles rely on markers, line
styles and hatches rather than colour alone, so the charts read in grayscale.

>>> from infereco.economics.production_frontier import zhuang2025_wingpt_entries
>>> plot_production_frontier(zhuang2025_wingpt_entries()).get_xscale()
'log'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

from infereco.economics.hourly_cost import HourlyCostBreakdown, OwnershipCost, hourly_cost
from infereco.economics.ownership import (
    CapexOpexCurves,
    breakeven_utilization,
    calendar_and_running_usd_per_hour,
)
from infereco.economics.production_frontier import (
    CostEffectivenessZone,
    FrontierEntry,
    ProductionFrontier,
    production_frontier,
)
from infereco.economics.sensitivity import LABELS, Elasticities, SensitivityRanges
from infereco.economics.uncertainty import CostUncertainty
from infereco.economics.workload_cost import MeasuredRun, SlaChoice, WorkloadCostTable, workload_cost
from infereco.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax

    _, new_ax = plt.subplots(figsize=(6.4, 4.2))
    return new_ax


_HATCHES = ("", "//", "..", "xx", "\\\\", "--")
_GRAYS = ("0.15", "0.45", "0.7", "0.85", "0.55", "0.3")


def plot_hourly_cost(breakdown: HourlyCostBreakdown | OwnershipCost, *, ax: Axes | None = None) -> Axes:
    """One horizontal stacked bar: each component of the per-GPU hourly cost, USD per utilized GPU-hour.

    >>> from infereco.economics.hourly_cost import zhuang2025_a800
    >>> plot_hourly_cost(zhuang2025_a800()).get_xlabel()
    'Cost per utilized GPU-hour (USD)'
    """
    b = breakdown if isinstance(breakdown, HourlyCostBreakdown) else hourly_cost(breakdown)
    ax = _axes(ax)
    left = 0.0
    for i, (name, value) in enumerate(b.components().items()):
        ax.barh(
            [0],
            [value],
            left=left,
            height=0.5,
            color=_GRAYS[i % 6],
            hatch=_HATCHES[i % 6],
            edgecolor="black",
            label=f"{name.replace('_', ' ')}: ${value:.3f} ({b.shares()[name]:.0%})",
        )
        left += value
    ax.set_yticks([])
    ax.set_ylim(-0.6, 0.6)
    ax.set_xlabel("Cost per utilized GPU-hour (USD)")
    ax.set_title(f"{b.name}: ${b.per_gpu_usd_per_hour:.3f} per GPU-hour")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False, fontsize="small")
    return ax


def plot_breakeven(
    ownership_spec: OwnershipCost,
    cloud_usd_per_hour: float | Sequence[float] = (20 / 7.09, 40 / 7.09),
    *,
    ax: Axes | None = None,
) -> Axes:
    """Owning's cost per utilized GPU-hour against utilization u, with cloud rates and their break-even u*.

    The default cloud rates are the paper's $2.82–5.64/h (¥20–40 per card-hour at 7.09 CNY/USD).

    >>> from infereco.economics.hourly_cost import zhuang2025_a800
    >>> plot_breakeven(zhuang2025_a800()).get_yscale()
    'log'
    """
    rates = (
        [float(cloud_usd_per_hour)]
        if np.ndim(cloud_usd_per_hour) == 0
        else [float(c) for c in cloud_usd_per_hour]
    )
    calendar, running = calendar_and_running_usd_per_hour(ownership_spec)
    u = np.linspace(0.02, 1.0, 200)
    ax = _axes(ax)
    ax.plot(u, calendar / u + running, color="black", lw=2, label=f"own ({ownership_spec.name})")
    styles = ("--", ":", "-.")
    for i, c in enumerate(rates):
        ax.axhline(c, color="0.4", ls=styles[i % 3], lw=1.2, label=f"cloud ${c:.2f}/GPU-h")
        u_star = breakeven_utilization(ownership_spec, c)
        if u_star <= 1:
            ax.plot([u_star], [c], marker="o", color="black", mfc="white", ms=7)
            ax.annotate(
                f"u* = {u_star:.2f}", (u_star, c), textcoords="offset points", xytext=(6, 6), fontsize="small"
            )
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("Utilization u (fraction of calendar hours worked)")
    ax.set_ylabel("Cost per utilized GPU-hour (USD)")
    ax.set_title("Self-host vs cloud: owning wins right of u*")
    ax.legend(fontsize="small")
    return ax


def plot_ownership(curves: CapexOpexCurves, *, ax: Axes | None = None) -> Axes:
    """Cumulative USD of owning (CapEx steps + OpEx) vs renting over time in years, with the crossover.

    >>> from infereco.economics.hourly_cost import zhuang2025_a800
    >>> from infereco.economics.ownership import capex_vs_opex
    >>> plot_ownership(capex_vs_opex(zhuang2025_a800(), 2.82, 6, 0.5)).get_xlabel()
    'Time (years)'
    """
    ax = _axes(ax)
    ax.plot(
        curves.time_years,
        curves.owning_cumulative_usd,
        color="black",
        lw=2,
        label=f"own {curves.n_gpus} GPU(s) (CapEx + OpEx)",
    )
    ax.plot(
        curves.time_years,
        curves.cloud_cumulative_usd,
        color="0.45",
        lw=2,
        ls="--",
        label=f"cloud ${curves.cloud_usd_per_hour:.2f}/GPU-h",
    )
    t = curves.crossover_years
    if np.isfinite(t) and t <= curves.horizon_years:
        ax.axvline(t, color="0.3", ls=":", lw=1)
        ax.annotate(
            f"owning cheaper after {t:.2f} y",
            (t, float(curves.cloud_cumulative_usd_at(t))),
            textcoords="offset points",
            xytext=(6, -14),
            fontsize="small",
        )
    ax.set_xlim(0, curves.horizon_years)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Time (years)")
    ax.set_ylabel("Cumulative cost (USD)")
    ax.set_title(f"CapEx vs OpEx at utilization u = {curves.utilization:g}")
    ax.legend(fontsize="small")
    return ax


def _table(runs: Any, n_gpu: int | None, usd_per_gpu_hour: Any, which: str) -> WorkloadCostTable:
    if isinstance(runs, WorkloadCostTable):
        return runs
    if n_gpu is None or usd_per_gpu_hour is None:
        raise SpecError(f"plot_concurrency_cost: {which} are runs, so n_gpu and usd_per_gpu_hour are needed")
    return workload_cost(runs, n_gpu, usd_per_gpu_hour)


_METRIC_LABELS = {
    "cost_usd": "Cost of the whole run (USD)",
    "usd_per_request": "Cost per request (USD)",
    "usd_per_m_output_tokens": "Cost per million output tokens (USD)",
    "usd_per_m_tokens": "Cost per million tokens (USD)",
    "total_time_s": "Total completion time (s)",
}


def plot_concurrency_cost(
    measured: WorkloadCostTable | Sequence[MeasuredRun | Mapping[str, Any]] | None = None,
    predicted: WorkloadCostTable | Sequence[MeasuredRun | Mapping[str, Any]] | None = None,
    *,
    n_gpu: int | None = None,
    usd_per_gpu_hour: Any = None,
    metric: str = "cost_usd",
    label: str | None = None,
    sla: SlaChoice | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cost (or time) against concurrency: measured runs as filled markers on a solid line, predicted runs
    as hollow markers on a dashed line, on one chart. Give tables, or runs plus n_gpu and usd_per_gpu_hour.

    >>> runs = [MeasuredRun(concurrency=8, total_time_s=2034, n_requests=2993),
    ...         MeasuredRun(concurrency=48, total_time_s=774, n_requests=2993)]
    >>> plot_concurrency_cost(measured=runs, n_gpu=2, usd_per_gpu_hour=0.79).get_ylabel()
    'Cost of the whole run (USD)'
    """
    if measured is None and predicted is None:
        raise SpecError("plot_concurrency_cost: give measured=..., predicted=... or both")
    if metric not in _METRIC_LABELS:
        raise SpecError(f"metric = {metric!r}: expected one of {', '.join(_METRIC_LABELS)}")
    ax = _axes(ax)
    prefix = f"{label}: " if label else ""
    ticks: set[int] = set()
    sla_drawn = False
    for which, runs, style in (
        ("measured", measured, {"color": "black", "ls": "-", "marker": "o", "mfc": "black"}),
        ("predicted", predicted, {"color": "0.35", "ls": "--", "marker": "s", "mfc": "white"}),
    ):
        if runs is None:
            continue
        table = _table(runs, n_gpu, usd_per_gpu_hour, which)
        ticks.update(int(c) for c in table.column("concurrency"))
        ax.plot(
            table.column("concurrency"), table.column(metric), lw=1.6, ms=6, label=f"{prefix}{which}", **style
        )
        # The star goes on the measured run of the SLA-optimal concurrency, else on the predicted one (an SLA
        # chosen from modelled runs).
        if sla is not None and sla.feasible and not sla_drawn:
            row = next((r for r in table.rows if r.concurrency == sla.concurrency), None)
            if row is not None:
                ax.plot(
                    [row.concurrency],
                    [getattr(row, metric)],
                    marker="*",
                    ms=16,
                    color="black",
                    ls="none",
                    mfc="white",
                    label=f"SLA-optimal: concurrency {row.concurrency} ({which})",
                )
                sla_drawn = True
    ax.set_xscale("log", base=2)
    # Label the concurrencies actually run, as plain numbers (2^3 is harder to read than 8).
    ax.set_xticks(sorted(ticks), [str(t) for t in sorted(ticks)])
    ax.minorticks_off()
    ax.set_xlabel("Concurrency (requests in flight)")
    ax.set_ylabel(_METRIC_LABELS[metric])
    ax.set_title("Cost vs concurrency")
    ax.legend(fontsize="small")
    return ax


def plot_production_frontier(
    frontier: ProductionFrontier | Iterable[FrontierEntry | Mapping[str, Any]],
    *,
    zone: CostEffectivenessZone | None = None,
    annotate: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Quality score against cost (USD, log axis): frontier filled and joined, dominated entries hollow,
    the cost-effectiveness zone (if given) shaded.

    >>> from infereco.economics.production_frontier import zhuang2025_wingpt_entries
    >>> plot_production_frontier(zhuang2025_wingpt_entries()).get_ylabel()
    'Quality score (benchmark points)'
    """
    f = frontier if isinstance(frontier, ProductionFrontier) else production_frontier(frontier)
    ax = _axes(ax)
    if zone is not None:
        lo, hi = zone.cost_range_usd
        ax.axvspan(
            lo / 1.08,
            hi * 1.08,
            color="0.88",
            hatch="//",
            ec="0.7",
            lw=0,
            label=f"cost-effectiveness zone (≥ {zone.min_quality_per_usd:g} points/$)",
        )
    ax.plot(
        f.costs_usd,
        f.quality_scores,
        color="black",
        lw=1.6,
        marker="o",
        ms=7,
        mfc="black",
        label="production frontier",
    )
    if f.dominated:
        ax.plot(
            [d.entry.cost_usd for d in f.dominated],
            [d.entry.quality_score for d in f.dominated],
            ls="none",
            marker="o",
            ms=7,
            mfc="white",
            mec="black",
            label="dominated",
        )
    entries = list(f.frontier) + [d.entry for d in f.dominated]
    costs = [e.cost_usd for e in entries]
    mid = math.sqrt(min(costs) * max(costs))
    if annotate:
        for e in entries:
            # Names of the dearer half sit left of their point, so that no name runs off the right edge.
            right = e.cost_usd > mid
            ax.annotate(
                e.name,
                (e.cost_usd, e.quality_score),
                textcoords="offset points",
                xytext=(-5, 5) if right else (5, 5),
                ha="right" if right else "left",
                fontsize="small",
            )
    ax.set_xscale("log")
    ax.set_xlim(min(costs) / 2, max(costs) * 2)
    scores = [e.quality_score for e in entries]
    span = max(max(scores) - min(scores), 1.0)
    ax.set_ylim(min(scores) - 0.08 * span, max(scores) + 0.12 * span)  # headroom for the names above points
    ax.set_xlabel("Cost (USD, log scale)")
    ax.set_ylabel("Quality score (benchmark points)")
    ax.set_title("Production frontier: quality vs cost")
    ax.legend(fontsize="small", loc="lower right")
    ax.figure.tight_layout()
    return ax


_OUTPUT_LABELS = {
    # "USD/M" rather than "$/M": two dollar signs in one matplotlib string switch on mathtext.
    "usd_per_million_tokens": ("USD/M tokens", "Cost per million output tokens (USD)"),
    "tokens_per_s_per_request": ("tokens/s", "Tokens/s per request"),
}


def _tornado_rows(data: Any, metric: str, baseline: float | None):
    """(kind, baseline, [(label, a, b)]) from Elasticities, SensitivityRanges or mappings."""
    if metric not in _OUTPUT_LABELS:
        raise SpecError(f"metric = {metric!r}: expected one of {', '.join(_OUTPUT_LABELS)}")
    if isinstance(data, Elasticities):
        return "elasticity", 0.0, [(LABELS.get(k, k), 0.0, v) for k, v in getattr(data, metric).items()]
    if isinstance(data, SensitivityRanges):
        rows = [(LABELS.get(k, k), lo, hi) for k, (lo, hi) in getattr(data, metric).items()]
        return "range", data.baseline(metric) if baseline is None else float(baseline), rows
    if isinstance(data, Mapping) and data:
        values = list(data.values())
        if all(np.ndim(v) == 0 for v in values):
            return "elasticity", 0.0, [(LABELS.get(k, str(k)), 0.0, float(v)) for k, v in data.items()]
        if all(np.shape(v) == (2,) for v in values):
            if baseline is None:
                raise SpecError(
                    "plot_tornado: a mapping of (low, high) ranges needs baseline= (the nominal output)"
                )
            return (
                "range",
                float(baseline),
                [(LABELS.get(k, str(k)), float(v[0]), float(v[1])) for k, v in data.items()],
            )
    raise SpecError(
        "plot_tornado: data: expected Elasticities, SensitivityRanges, {input: elasticity} or "
        "{input: (output at low, output at high)} with baseline="
    )


def plot_tornado(
    data: Any,
    *,
    metric: str = "usd_per_million_tokens",
    baseline: float | None = None,
    top: int | None = None,
    hide_zero: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Tornado chart: inputs sorted by influence, largest on top.

    `data`: `Elasticities` (bars from 0 to d ln output / d ln input; solid when raising the input raises the
    output, hatched when it lowers it), or `SensitivityRanges` / `{input: (output at low input, output at high
    input)}` with `baseline` (bars spanning each one-at-a-time range around the nominal output; the half for
    the input's low value hatched). `metric`: 'usd_per_million_tokens' or 'tokens_per_s_per_request'. `top`
    keeps the largest bars; `hide_zero` drops inputs with no effect.

    >>> plot_tornado({"price_usd_per_hour": 1.0, "hbm_bandwidth_bytes_per_s": -0.6}).get_xlabel()
    'Elasticity of USD/M tokens: d ln(USD/M tokens) / d ln(input)'
    """
    kind, base, rows = _tornado_rows(data, metric, baseline)
    if hide_zero:
        rows = [r for r in rows if abs(r[2] - base) + abs(r[1] - base) > 0] or rows
    # barh draws bottom-up, so the largest goes last (on top); among equals the input listed first goes
    # higher.
    order = sorted(range(len(rows)), key=lambda i: (max(abs(rows[i][1] - base), abs(rows[i][2] - base)), -i))
    rows = [rows[i] for i in order]
    if top is not None:
        rows = rows[-int(top) :]
    short, long_label = _OUTPUT_LABELS[metric]
    ax = _axes(ax)
    y = np.arange(len(rows))
    if kind == "elasticity":
        vals = np.array([r[2] for r in rows])
        pos = vals >= 0
        ax.barh(
            y[pos],
            vals[pos],
            height=0.6,
            color="0.3",
            edgecolor="black",
            label=f"raising the input raises {short}",
        )
        ax.barh(
            y[~pos],
            vals[~pos],
            height=0.6,
            color="white",
            hatch="//",
            edgecolor="black",
            label=f"raising the input lowers {short}",
        )
        for yi, v in zip(y, vals):
            ax.annotate(
                f"{v:+.2f}",
                (v, yi),
                textcoords="offset points",
                xytext=(4 if v >= 0 else -4, 0),
                ha="left" if v >= 0 else "right",
                va="center",
                fontsize="small",
            )
        span = max(1e-12, float(np.max(np.abs(vals)))) if len(vals) else 1.0
        ax.set_xlim(-1.25 * span if (~pos).any() else -0.05 * span, 1.25 * span if pos.any() else 0.05 * span)
        ax.set_xlabel(f"Elasticity of {short}: d ln({short}) / d ln(input)")
        ax.set_title(f"Sensitivity of {short} (% change per 1% change of each input)")
    else:
        for yi, (_, at_low, at_high) in zip(y, rows):
            ax.barh(
                [yi], [at_low - base], left=base, height=0.6, color="white", hatch="//", edgecolor="black"
            )
            ax.barh([yi], [at_high - base], left=base, height=0.6, color="0.35", edgecolor="black")
        ax.barh([], [], color="white", hatch="//", edgecolor="black", label="input at its low value")
        ax.barh([], [], color="0.35", edgecolor="black", label="input at its high value")
        ax.set_xlabel(long_label)
        ax.set_title(f"One-at-a-time ranges around the nominal {short} = {base:.4g}")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return ax


def plot_cost_uncertainty(result: Any, *, max_points: int = 4000, ax: Axes | None = None) -> Axes:
    """Monte Carlo samples of a deployment: $/M tokens against tokens/s per request, with the nominal point
    and the percentile intervals of both outputs (whiskers from the lowest to the highest percentile, tick at
    50%).

    >>> r = cost_uncertainty("llama-3-8b", "h100-sxm", tp=1, batch_size=16, n_samples=200,
    ...                      distributions={"bandwidth_utilization": ("uniform", 0.6, 0.9)})
    >>> ax = plot_cost_uncertainty(r)
    >>> len(ax.collections) > 0   # the samples' scatter
    True
    """
    if not isinstance(result, CostUncertainty):
        raise SpecError(
            f"plot_cost_uncertainty: result = {type(result).__name__}; expected a CostUncertainty"
        )
    ax = _axes(ax)
    speed, cost = result.tokens_per_s_per_request_samples, result.usd_per_million_tokens_samples
    ok = np.isfinite(speed) & np.isfinite(cost)
    idx = np.flatnonzero(ok)[: int(max_points)]
    ax.plot(
        speed[idx],
        cost[idx],
        ls="none",
        marker=".",
        ms=3,
        color="0.6",
        alpha=0.5,
        label=f"samples ({result.n_valid} valid)",
    )
    c, s = result.usd_per_million_tokens, result.tokens_per_s_per_request
    lo_p, hi_p = min(c.percentiles), max(c.percentiles)
    sx = s.median if np.isfinite(s.median) else s.mean
    cy = c.median if np.isfinite(c.median) else c.mean
    ax.errorbar(
        [sx],
        [cy],
        xerr=[[max(0.0, sx - s.low)], [max(0.0, s.high - sx)]],
        yerr=[[max(0.0, cy - c.low)], [max(0.0, c.high - cy)]],
        fmt="s",
        color="black",
        mfc="white",
        ms=7,
        capsize=4,
        lw=1.5,
        label=f"median, {lo_p:g}–{hi_p:g}th percentiles",
    )
    ax.plot(
        [result.nominal_tokens_per_s_per_request],
        [result.nominal_usd_per_million_tokens],
        marker="*",
        ms=14,
        color="black",
        ls="none",
        label="nominal inputs",
    )
    ax.set_xlabel("Tokens/s per request")
    ax.set_ylabel("Cost per million output tokens (USD)")
    ax.set_title(
        f"Monte Carlo, {lo_p:g}–{hi_p:g}th percentiles: USD/M tokens {c.low:.3g}–{c.high:.3g}, "
        f"tokens/s {s.low:.3g}–{s.high:.3g}",
        fontsize="medium",
    )
    ax.legend(fontsize="small")
    return ax
