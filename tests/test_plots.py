"""Every plot type renders to a non-empty PNG with units on its axes (issue 7, "Done means": each plot type is
produced by a test and its PNG checked to be non-empty with the expected axes labels).

Frontier plots (infereco.plot.frontier) and, where present, the economics plots (infereco.plot.economics).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from infereco import pareto_frontier
from infereco.plot import frontier as frontier_plots

try:
    from infereco.plot import economics as economics_plots
except ImportError:  # pragma: no cover - the economics plots are optional in a partial build
    economics_plots = None

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def frontiers():
    # Small and fast: the reference grid for two models, no speculative decoding.
    kw = {"context_length": 1, "preset": "erdil-2024", "search": "erdil-grid"}
    return [pareto_frontier("llama-3-8b", "h100-sxm", **kw), pareto_frontier("llama-3-70b", "h100-sxm", **kw)]


@pytest.fixture(scope="module")
def spec_frontier():
    return pareto_frontier(
        "llama-3-70b",
        "h100-sxm",
        context_length=1,
        preset="erdil-2024",
        search="erdil-grid",
        speculative={"draft": "llama-3-8b", "acceptance": 0.8, "max_draft_tokens": 4},
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check_png(ax, path, xlabel_has, ylabel_has):
    """Save the Axes' figure to `path`; the file is a PNG with drawn pixels and both axes carry their
    units."""
    ax.figure.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2_000, f"{path.name}: {len(data)} bytes"
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert float(np.std(pixels[..., :3])) > 0.01, f"{path.name}: the image is blank"
    for label, wanted in ((ax.get_xlabel(), xlabel_has), (ax.get_ylabel(), ylabel_has)):
        for text in wanted if isinstance(wanted, tuple) else (wanted,):
            assert text in label, f"{path.name}: axis label {label!r} lacks {text!r}"


def _economics(name):
    fn = getattr(economics_plots, name, None) if economics_plots is not None else None
    if fn is None:
        pytest.skip(f"infereco.plot.economics.{name} is not in this build")
    return fn


# ---- frontier plots ----------------------------------------------------------------------------------------
def test_plot_frontier(tmp_path, frontiers):
    ax = frontier_plots.plot_frontier(frontiers, labels=["8B", "70B"], observed=[("provider", 150.0, 0.9)])
    _check_png(ax, tmp_path / "frontier.png", "tokens/s", ("USD", "million"))
    assert ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "8B" in legend and "70B" in legend and any("observed" in t for t in legend)
    assert any("preferred" in t for t in legend)
    # Grayscale-safe: the two frontiers differ in line style, not only in colour.
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("8B", "70B")]
    assert len({str(ln.get_linestyle()) for ln in lines}) == 2


def test_frontier_plot_method_returns_axes(tmp_path, frontiers):
    ax = frontiers[0].plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    _check_png(ax, tmp_path / "method.png", "tokens/s", "USD")


def test_plot_mfu(tmp_path, frontiers):
    ax = frontier_plots.plot_mfu(frontiers, labels=["8B", "70B"])
    _check_png(ax, tmp_path / "mfu.png", "tokens/s", "%")
    ys = np.concatenate([ln.get_ydata() for ln in ax.get_lines()])
    assert 0 <= ys.min() and ys.max() <= 100


def test_plot_breakdown(tmp_path, spec_frontier):
    ax = frontier_plots.plot_breakdown(spec_frontier)
    _check_png(ax, tmp_path / "breakdown.png", "tokens/s", "(ms)")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("HBM" in t for t in legend) and any("draft" in t for t in legend)


def test_plot_breakdown_of_an_empty_frontier(tmp_path):
    # A demand of 0.001 tokens/s fills no configuration.
    empty = pareto_frontier(
        "llama-3-8b",
        "h100-sxm",
        context_length=1,
        preset="erdil-2024",
        search="erdil-grid",
        max_throughput_tokens_per_s=1e-3,
    )
    assert empty.empty
    ax = frontier_plots.plot_breakdown(empty)
    ax.figure.savefig(tmp_path / "empty.png", dpi=60)
    assert "(ms)" in ax.get_ylabel() and "empty" in ax.get_title()


# ---- economics plots ---------------------------------------------------------------------------------------
def test_plot_production_frontier(tmp_path):
    from infereco.economics.production_frontier import zhuang2025_wingpt_entries

    ax = _economics("plot_production_frontier")(zhuang2025_wingpt_entries())
    _check_png(ax, tmp_path / "production.png", "USD", "points")
    assert ax.get_xscale() == "log"


def test_plot_tornado(tmp_path):
    fn = _economics("plot_tornado")
    ax = fn({"price_usd_per_hour": 1.0, "hbm_bandwidth_bytes_per_s": -0.6, "kernel_launch_s": 0.1})
    _check_png(ax, tmp_path / "tornado.png", "USD/M", "")
    ax = fn({"price_usd_per_hour": (0.8, 1.2), "hbm_bandwidth_bytes_per_s": (1.3, 0.9)}, baseline=1.0)
    _check_png(ax, tmp_path / "tornado_ranges.png", "(USD)", "")


def test_plot_concurrency_cost(tmp_path):
    from infereco import MeasuredRun

    runs = [
        MeasuredRun(concurrency=8, total_time_s=2034, n_requests=2993),
        MeasuredRun(concurrency=48, total_time_s=774, n_requests=2993),
        MeasuredRun(concurrency=128, total_time_s=900, n_requests=2993),
    ]
    ax = _economics("plot_concurrency_cost")(measured=runs, n_gpu=2, usd_per_gpu_hour=0.79)
    _check_png(ax, tmp_path / "concurrency.png", "requests", "(USD)")


def test_plot_ownership(tmp_path):
    from infereco.economics.hourly_cost import zhuang2025_a800
    from infereco.economics.ownership import capex_vs_opex

    ax = _economics("plot_ownership")(capex_vs_opex(zhuang2025_a800(), 2.82, 6, 0.5))
    _check_png(ax, tmp_path / "ownership.png", "(years)", "(USD)")


def test_plot_hourly_cost(tmp_path):
    from infereco.economics.hourly_cost import zhuang2025_a800

    ax = _economics("plot_hourly_cost")(zhuang2025_a800())
    _check_png(ax, tmp_path / "hourly.png", "(USD)", "")


def test_plot_breakeven(tmp_path):
    from infereco.economics.hourly_cost import zhuang2025_a800

    ax = _economics("plot_breakeven")(zhuang2025_a800())
    _check_png(ax, tmp_path / "breakeven.png", "Utilization", "(USD)")


def test_plot_cost_uncertainty(tmp_path):
    fn = _economics("plot_cost_uncertainty")
    from infereco.economics.uncertainty import cost_uncertainty

    r = cost_uncertainty(
        "llama-3-8b",
        "a800-80g",
        distributions={"price_usd_per_hour": ("lognormal", 0.79, 0.2)},
        n_samples=200,
        seed=0,
        tp=1,
        batch_size=32,
        context_length=1000,
    )
    ax = fn(r)
    _check_png(ax, tmp_path / "uncertainty.png", "Tokens/s", "USD")
