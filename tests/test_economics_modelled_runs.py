"""Modelled concurrency sweeps go through the same cost analysis as measured ones (Zhuang et al. §6)."""

from __future__ import annotations

import pytest

import infereco
from infereco import SpecError, modelled_runs, sla_optimal_concurrency, workload_cost


def test_modelled_sweep_shows_diminishing_marginal_cost():
    runs = modelled_runs(
        "llama-3-8b",
        "a800-80g",
        [8, 16, 32, 48, 64],
        n_requests=2993,
        input_tokens=440,
        output_tokens=280,
        tp=2,
    )
    assert all(r.source == "predicted" for r in runs)
    t = workload_cost(runs, n_gpu=2, usd_per_gpu_hour=0.787)
    costs = [r["cost_usd"] for r in t.to_records()]
    assert all(b < a for a, b in zip(costs, costs[1:]))  # more concurrency, cheaper run
    savings = [a - b for a, b in zip(costs, costs[1:])]
    assert all(b < a for a, b in zip(savings, savings[1:]))  # ... by less and less
    # Cost of a run = N_GPU × $/h × T / 3600, exactly.
    assert costs[0] == pytest.approx(2 * 0.787 * runs[0].total_time_s / 3600, rel=1e-12)


def test_measured_and_modelled_runs_share_the_sla_analysis():
    runs = modelled_runs(
        "llama-3-8b", "a800-80g", [8, 32, 128], n_requests=500, input_tokens=1000, output_tokens=200, tp=1
    )
    choice = sla_optimal_concurrency(runs, max_mean_ttft_s=1.0, min_tokens_per_s_per_request=20.0)
    assert choice is not None


def test_modelled_runs_reject_bad_input():
    with pytest.raises(SpecError, match="concurrencies"):
        modelled_runs("llama-3-8b", "a800-80g", [0], n_requests=10, input_tokens=10, output_tokens=10)
    with pytest.raises(SpecError, match="n_requests"):
        modelled_runs("llama-3-8b", "a800-80g", [1], n_requests=0, input_tokens=10, output_tokens=10)
    assert "modelled_runs" in infereco.__all__
