"""Measured vs predicted, with prediction intervals: how well a calibration predicts runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from infereco.plot.style import COLORS, MARKERS, finish, new_axes

_UNITS = {
    "tpot_s": ("mean TPOT", "ms", 1e3),
    "ttft_s": ("mean TTFT", "ms", 1e3),
    "output_throughput_tokens_per_s": ("output throughput", "tokens/s", 1.0),
    "request_throughput_per_s": ("request throughput", "requests/s", 1.0),
}


def plot_measured_vs_predicted(
    table: Any,
    quantity: str = "output_throughput_tokens_per_s",
    *,
    ax=None,
    label: str | None = None,
    train: Any = None,
    title: str | None = None,
    band: float | None = 0.1,
):
    """Scatter measured (x) against predicted (y) for one quantity, with the prediction intervals as vertical
    bars, the y = x line and a ±`band` relative band; log–log axes in the quantity's unit. `table` is a
    `PredictionTable` (e.g. `CalibrationResult.predict(...)` or a validation case's `.test`); `train`
    (optional) adds the calibration runs in another marker. Returns the Axes.
    """
    if quantity not in _UNITS:
        raise ValueError(f"quantity {quantity!r}: choose from {', '.join(_UNITS)}")
    name, unit, scale = _UNITS[quantity]
    ax = new_axes(ax, figsize=(5.2, 4.6))
    lo_all, hi_all = [], []
    series = [(train, "calibration runs", COLORS[2], MARKERS[1], 0.55)] if train is not None else []
    series.append(
        (table, label or f"held-out runs ({round(table.level * 100)}% PI)", COLORS[0], MARKERS[0], 0.9)
    )
    for tab, lab, color, marker, alpha in series:
        m = np.asarray(tab.measured(quantity), float) * scale
        p = np.asarray(tab.pred[quantity], float) * scale
        lo = np.asarray(tab.lo[quantity], float) * scale
        hi = np.asarray(tab.hi[quantity], float) * scale
        ok = np.isfinite(m) & np.isfinite(p) & (m > 0) & (p > 0)
        if not ok.any():
            continue
        yerr = np.vstack([p[ok] - lo[ok], hi[ok] - p[ok]])
        ax.errorbar(
            m[ok],
            p[ok],
            yerr=np.where(np.isfinite(yerr), yerr, 0.0),
            fmt=marker,
            color=color,
            ms=5,
            alpha=alpha,
            elinewidth=1,
            capsize=2,
            label=lab,
        )
        lo_all += [m[ok].min(), np.nanmin(lo[ok])]
        hi_all += [m[ok].max(), np.nanmax(hi[ok])]
    if lo_all:
        a, b = min(lo_all) / 1.3, max(hi_all) * 1.3
        xs = np.geomspace(a, b, 50)
        ax.plot(xs, xs, color="0.3", lw=1, ls="-", label="predicted = measured")
        if band:
            ax.fill_between(
                xs,
                xs * (1 - band),
                xs * (1 + band),
                color="0.5",
                alpha=0.15,
                lw=0,
                label=f"±{band * 100:.0f}%",
            )
        ax.set_xlim(a, b)
        ax.set_ylim(a, b)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"measured {name} ({unit})")
    ax.set_ylabel(f"predicted {name} ({unit})")
    return finish(ax, title)


def plot_validation_cases(
    cases: Sequence[Any], path: str | None = None, *, quantities: Sequence[str] | None = None
):
    """One panel per (case, quantity measured): held-out predictions with intervals against measurements, with
    the calibration runs beside. Writes `path` (PNG) when given; returns the Figure."""

    panels = [
        (c, q)
        for c in cases
        for q in (quantities or c.quantities)
        if np.isfinite(np.asarray(c.test.measured(q), float)).any()
    ]
    n = len(panels)
    cols = min(3, max(n, 1))
    rows = -(-n // cols) if n else 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 4.4 * rows), dpi=110, squeeze=False)
    for ax, (c, q) in zip(axes.ravel(), panels):
        s = c.summary[q]
        plot_measured_vs_predicted(
            c.test,
            q,
            ax=ax,
            train=c.result.train,
            title=f"{c.name}\nheld-out median |err| {s['median_abs_pct_error']:.1f}%, "
            f"{s['coverage'] * 100:.0f}% in 90% PI",
        )
        ax.title.set_fontsize(9)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    if path:
        fig.savefig(path)
    return fig
