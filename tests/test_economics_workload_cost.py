"""Cost of a measured workload (docs/papers.md §2.2, §2.6, §2.7): N_GPU × $/h × T/3600 reproduces the paper's
$0.893 (concurrency 8, 2,034 s) and $0.340 (concurrency 48, 774 s) on two A800s; token split; marginal cost;
SLA-optimal concurrency; measured and predicted runs on one chart."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.economics.hourly_cost import RentalCost, hourly_cost, zhuang2025_a800
from infereco.economics.workload_cost import (
    MeasuredRun,
    sla_optimal_concurrency,
    workload_cost,
)
from infereco.errors import SpecError
from infereco.plot.economics import plot_concurrency_cost

N_REQ = 2993  # WiNEval-3.0 requests


def paper_runs() -> list[MeasuredRun]:
    return [
        MeasuredRun(concurrency=8, total_time_s=2034, n_requests=N_REQ),
        MeasuredRun(concurrency=48, total_time_s=774, n_requests=N_REQ),
    ]


def test_paper_figures_at_158_per_hour():
    """$1.58/h for both cards (per-GPU $0.79 rounded, then doubled) gives the paper's cents exactly."""
    for table in (workload_cost(paper_runs(), 2, 0.79), workload_cost(paper_runs(), 1, 1.58)):
        c8, c48 = table.rows
        assert round(c8.cost_usd, 3) == 0.893 and round(c48.cost_usd, 3) == 0.340
        assert round(c8.cost_usd, 2) == 0.89 and round(c48.cost_usd, 2) == 0.34


def test_paper_figures_with_the_unrounded_rate():
    """The unrounded 2 × $0.7866/h = $1.5732/h gives $0.889 and $0.338: the same to the cent."""
    table = workload_cost(paper_runs(), 2, zhuang2025_a800())
    c8, c48 = table.rows
    assert round(c8.cost_usd, 3) == 0.889 and round(c48.cost_usd, 3) == 0.338
    assert round(c8.cost_usd, 2) == 0.89 and round(c48.cost_usd, 2) == 0.34
    assert table.usd_per_gpu_hour == pytest.approx(hourly_cost(zhuang2025_a800()).per_gpu_usd_per_hour)


def test_implied_time_for_wingpt_35():
    # docs/papers.md §2.5: $0.34 at $1.58/h implies T ≈ 775 s.
    t = workload_cost(
        [MeasuredRun(concurrency=48, total_time_s=0.34 * 3600 / 1.58, n_requests=N_REQ)], 2, 0.79
    )
    assert t.rows[0].cost_usd == pytest.approx(0.34)
    assert round(t.rows[0].total_time_s) == 775


def test_per_request_and_per_token_costs():
    run = MeasuredRun(
        concurrency=8, total_time_s=3600, n_requests=1000, total_input_tokens=3e6, total_output_tokens=1e6
    )
    row = workload_cost([run], 2, 1.0).rows[0]
    assert row.cost_usd == pytest.approx(2.0)
    assert row.usd_per_request == pytest.approx(0.002)
    assert row.usd_per_m_output_tokens == pytest.approx(2.0)  # all cost to output by default
    assert row.usd_per_m_input_tokens == 0.0
    assert row.usd_per_m_tokens == pytest.approx(0.5)


def test_token_weight_split_adds_up():
    run = MeasuredRun(
        concurrency=8, total_time_s=3600, n_requests=1000, total_input_tokens=3e6, total_output_tokens=1e6
    )
    row = workload_cost([run], 2, 1.0, input_token_weight=0.25).rows[0]
    # Output-token equivalents: 1e6 + 0.25·3e6 = 1.75e6; input share 0.75/1.75 of $2.
    assert row.usd_per_m_input_tokens == pytest.approx(2.0 * 0.75 / 1.75 / 3)
    assert row.usd_per_m_output_tokens == pytest.approx(2.0 * 1.0 / 1.75)
    cost_back = row.usd_per_m_input_tokens * 3 + row.usd_per_m_output_tokens * 1
    assert cost_back == pytest.approx(row.cost_usd)
    equal = workload_cost([run], 2, 1.0, input_token_weight=1.0).rows[0]
    assert equal.usd_per_m_input_tokens == pytest.approx(equal.usd_per_m_output_tokens)
    assert equal.usd_per_m_input_tokens == pytest.approx(equal.usd_per_m_tokens)


def test_missing_token_counts_give_nan():
    row = workload_cost(paper_runs(), 2, 0.79).rows[0]
    assert math.isnan(row.usd_per_m_output_tokens) and math.isnan(row.usd_per_m_tokens)
    only_out = MeasuredRun(concurrency=8, total_time_s=10, n_requests=1, total_output_tokens=100)
    assert math.isnan(
        workload_cost([only_out], 1, 1.0, input_token_weight=0.5).rows[0].usd_per_m_output_tokens
    )


def test_marginal_cost_between_concurrencies():
    runs = [
        MeasuredRun(concurrency=c, total_time_s=t, n_requests=N_REQ)
        for c, t in [(48, 774), (8, 2034), (16, 1400), (128, 760)]
    ]
    table = workload_cost(runs, 2, 0.79)
    assert list(table.column("concurrency")) == [8, 16, 48, 128]
    delta = table.column("delta_cost_usd")
    assert math.isnan(delta[0])
    assert delta[1] == pytest.approx(1.58 * (1400 - 2034) / 3600)
    marginal = table.column("marginal_usd_per_unit_concurrency")
    assert marginal[2] == pytest.approx(1.58 * (774 - 1400) / 3600 / 32)
    # Diminishing marginal cost: savings per added unit of concurrency shrink towards zero.
    assert np.all(np.diff(np.abs(marginal[1:])) < 0)
    assert table.cheapest().concurrency == 128
    assert "Δcost" in str(table) and "2 GPUs" in str(table)
    assert len(table.to_records()) == 4 and "run" not in table.to_records()[0]


def test_runs_from_mappings_and_errors_name_the_field():
    t = workload_cost([{"concurrency": 8, "total_time_s": 2034, "n_requests": N_REQ}], 2, 0.79)
    assert t.rows[0].run.source == "measured"
    with pytest.raises(SpecError, match=r"runs\[0\].*total_time_s"):
        workload_cost([{"concurrency": 8, "total_time_s": -1, "n_requests": 1}], 2, 0.79)
    with pytest.raises(SpecError, match="concurrency"):
        MeasuredRun.validated({"concurrency": 0, "total_time_s": 1, "n_requests": 1})
    with pytest.raises(SpecError, match="appears twice"):
        workload_cost(paper_runs() + [paper_runs()[0]], 2, 0.79)
    with pytest.raises(SpecError, match="n_gpu"):
        workload_cost(paper_runs(), 0, 0.79)
    with pytest.raises(SpecError, match="price_usd_per_hour"):
        workload_cost(paper_runs(), 2, -0.79)
    with pytest.raises(SpecError, match="input_token_weight"):
        workload_cost(paper_runs(), 2, 0.79, input_token_weight=-1)
    with pytest.raises(SpecError, match="empty"):
        workload_cost([], 2, 0.79)
    with pytest.raises(SpecError, match="column"):
        workload_cost(paper_runs(), 2, 0.79).column("nope")


def test_price_from_a_rental():
    t = workload_cost(paper_runs(), 2, RentalCost(price_usd_per_hour=2.82))
    assert t.rows[0].cost_usd == pytest.approx(2 * 2.82 * 2034 / 3600)


@settings(max_examples=60, deadline=None)
@given(
    t=st.floats(min_value=1, max_value=1e6),
    k=st.floats(min_value=0.01, max_value=100),
    price=st.floats(min_value=0.01, max_value=100),
    n=st.integers(min_value=1, max_value=64),
)
def test_cost_is_linear_in_time_price_and_gpus(t, k, price, n):
    run = MeasuredRun(concurrency=8, total_time_s=t, n_requests=100)
    longer = MeasuredRun(concurrency=8, total_time_s=t * k, n_requests=100)
    base = workload_cost([run], n, price).rows[0].cost_usd
    assert base == pytest.approx(n * price * t / 3600, rel=1e-12)
    assert workload_cost([longer], n, price).rows[0].cost_usd == pytest.approx(k * base, rel=1e-12)
    assert workload_cost([run], n, price * k).rows[0].cost_usd == pytest.approx(k * base, rel=1e-12)


def sla_runs() -> list[MeasuredRun]:
    # Synthetic runs for the SLA tests (not paper data): TTFT rises and speed per request falls with load.
    return [
        MeasuredRun(
            concurrency=8,
            total_time_s=2034,
            n_requests=N_REQ,
            mean_ttft_s=0.2,
            output_throughput_tokens_per_s=400,
        ),
        MeasuredRun(
            concurrency=16,
            total_time_s=1400,
            n_requests=N_REQ,
            mean_ttft_s=0.4,
            output_throughput_tokens_per_s=640,
        ),
        MeasuredRun(
            concurrency=48,
            total_time_s=774,
            n_requests=N_REQ,
            mean_ttft_s=0.9,
            output_throughput_tokens_per_s=1100,
        ),
        MeasuredRun(
            concurrency=128,
            total_time_s=700,
            n_requests=N_REQ,
            mean_ttft_s=2.5,
            output_throughput_tokens_per_s=1200,
        ),
    ]


def test_sla_optimal_concurrency():
    choice = sla_optimal_concurrency(sla_runs(), max_mean_ttft_s=1.0, min_tokens_per_s_per_request=20.0)
    assert choice.feasible and choice.concurrency == 48
    assert choice.run.total_time_s == 774
    by_c = {c.concurrency: c for c in choice.checks}
    assert by_c[128].meets is False
    assert any("TTFT" in r for r in by_c[128].reasons) and any("speed" in r for r in by_c[128].reasons)
    assert by_c[48].per_request_tokens_per_s == pytest.approx(1100 / 48)
    assert "48" in str(choice)


def test_sla_none_meets_gives_reasons_per_run():
    choice = sla_optimal_concurrency(sla_runs(), max_mean_ttft_s=0.1)
    assert not choice.feasible and choice.concurrency is None and choice.run is None
    text = choice.reason
    assert text.startswith("none meets the SLA")
    for c in (8, 16, 48, 128):
        assert f"concurrency {c}:" in text


def test_sla_missing_data_is_a_reason():
    choice = sla_optimal_concurrency(paper_runs())
    assert not choice.feasible
    assert "mean_ttft_s not given" in choice.reason and "per-request speed unknown" in choice.reason


def test_sla_uses_explicit_per_request_speed_and_token_counts():
    explicit = MeasuredRun(
        concurrency=8,
        total_time_s=100,
        n_requests=10,
        mean_ttft_s=0.1,
        output_throughput_tokens_per_s=80,
        per_request_tokens_per_s=25,
    )
    assert explicit.speed_per_request_tokens_per_s == 25
    from_tokens = MeasuredRun(concurrency=4, total_time_s=100, n_requests=10, total_output_tokens=10_000)
    assert from_tokens.throughput_tokens_per_s == 100
    assert from_tokens.speed_per_request_tokens_per_s == 25


def test_sla_bad_limits():
    with pytest.raises(SpecError, match="max_mean_ttft_s"):
        sla_optimal_concurrency(sla_runs(), max_mean_ttft_s=-1)
    with pytest.raises(SpecError, match="min_tokens_per_s_per_request"):
        sla_optimal_concurrency(sla_runs(), min_tokens_per_s_per_request=float("nan"))


def test_measured_and_predicted_on_one_chart():
    predicted = [r.replace(source="predicted", total_time_s=r.total_time_s * 0.9) for r in sla_runs()]
    assert predicted[0].source == "predicted"
    ax = plot_concurrency_cost(
        measured=sla_runs(),
        predicted=predicted,
        n_gpu=2,
        usd_per_gpu_hour=0.79,
        sla=sla_optimal_concurrency(sla_runs()),
    )
    labels = [line.get_label() for line in ax.get_lines()]
    assert "measured" in labels and "predicted" in labels and any("SLA" in lb for lb in labels)
    assert ax.get_ylabel() == "Cost of the whole run (USD)" and "Concurrency" in ax.get_xlabel()
    table = workload_cost(sla_runs(), 2, 0.79)
    ax2 = plot_concurrency_cost(measured=table, metric="usd_per_request")
    assert "per request" in ax2.get_ylabel()
    with pytest.raises(SpecError):
        plot_concurrency_cost(measured=sla_runs())  # runs need n_gpu and a price
    with pytest.raises(SpecError):
        plot_concurrency_cost()
    with pytest.raises(SpecError, match="metric"):
        plot_concurrency_cost(measured=table, metric="dollars")
    import matplotlib.pyplot as plt

    plt.close("all")
