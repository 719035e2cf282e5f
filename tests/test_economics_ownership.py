"""Self-host vs cloud (docs/papers.md §2.3, §2.7): break-even utilization against a hand calculation and the
paper's $2.82–5.64/h cloud range, and CapEx vs OpEx cumulative curves with their crossover."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.economics.hourly_cost import OwnershipCost, hourly_cost, zhuang2025_a800
from infereco.economics.ownership import (
    breakeven_utilization,
    calendar_and_running_usd_per_hour,
    capex_vs_opex,
)
from infereco.errors import SpecError
from infereco.plot.economics import plot_breakeven, plot_ownership

CLOUD_LOW, CLOUD_HIGH = 20 / 7.09, 40 / 7.09  # ¥20–40 per card-hour = $2.82–5.64 (docs/papers.md §2.3)


def test_paper_cloud_range_is_yuan_converted():
    # The paper's ¥20–40 per card-hour at its ¥7.09/$ is $2.82–5.64 (hand: 20 / 7.09 = 2.821,
    # 40 / 7.09 = 5.642); the library's A800 spec must carry that currency and rate.
    spec = zhuang2025_a800()
    assert spec.currency == "CNY"
    assert round(spec.to_usd(20), 2) == 2.82 and round(spec.to_usd(40), 2) == 5.64
    assert spec.to_usd(20) == pytest.approx(CLOUD_LOW, rel=1e-12)


def test_breakeven_hand_calculation():
    # F = 120000/(3·8760)/7.09 (depreciation, calendar), R = (0.4·1.5·1 + 120000·0.03/8760)/7.09 (running).
    calendar = 120_000 / (3 * 8760) / 7.09
    running = (0.4 * 1.5 * 1.0 + 120_000 * 0.03 / 8760) / 7.09
    assert calendar_and_running_usd_per_hour(zhuang2025_a800()) == pytest.approx((calendar, running))
    assert breakeven_utilization(zhuang2025_a800(), 2.82) == pytest.approx(calendar / (2.82 - running))
    assert round(breakeven_utilization(zhuang2025_a800(), CLOUD_LOW), 4) == 0.2405
    assert round(breakeven_utilization(zhuang2025_a800(), CLOUD_HIGH), 4) == 0.1171


def test_breakeven_ignores_the_specs_own_utilization():
    assert breakeven_utilization(zhuang2025_a800(utilization=0.3), 3.0) == breakeven_utilization(
        zhuang2025_a800(), 3.0
    )


@pytest.mark.parametrize("cloud", [CLOUD_LOW, CLOUD_HIGH, 1.0])
def test_breakeven_makes_hourly_cost_equal_the_cloud_rate(cloud):
    spec = zhuang2025_a800()
    u = breakeven_utilization(spec, cloud)
    assert 0 < u <= 1
    assert hourly_cost(spec.replace(utilization=u)).per_gpu_usd_per_hour == pytest.approx(cloud, rel=1e-12)


def test_self_hosting_is_cheaper_at_full_use():
    own = hourly_cost(zhuang2025_a800()).per_gpu_usd_per_hour
    assert 3.5 < CLOUD_LOW / own < 3.7 and 7.0 < CLOUD_HIGH / own < 7.3  # ≈3.6–7.1× (docs/papers.md §2.3)


def test_breakeven_above_one_and_never():
    spec = zhuang2025_a800()
    _, running = calendar_and_running_usd_per_hour(spec)
    assert breakeven_utilization(spec, 0.5) > 1  # dearer than cloud even at full use
    assert breakeven_utilization(spec, running) == math.inf
    assert breakeven_utilization(spec, running / 2) == math.inf


def test_extras_raise_the_breakeven():
    base = breakeven_utilization(zhuang2025_a800(), 3.0)
    with_capital = breakeven_utilization(zhuang2025_a800(cost_of_capital_rate_per_year=0.06), 3.0)
    with_host = breakeven_utilization(zhuang2025_a800(host_and_network_share_per_hour=0.5), 3.0)
    assert with_capital > base and with_host > base


@pytest.mark.parametrize("bad", [0, -2.82, float("nan"), float("inf"), "cheap"])
def test_bad_cloud_rate_names_the_argument(bad):
    with pytest.raises(SpecError, match="cloud_usd_per_hour"):
        breakeven_utilization(zhuang2025_a800(), bad)


def test_breakeven_needs_an_ownership_spec():
    with pytest.raises(SpecError, match="OwnershipCost"):
        breakeven_utilization({"purchase_price": 1}, 2.0)  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(
    c1=st.floats(min_value=0.2, max_value=50),
    c2=st.floats(min_value=0.2, max_value=50),
    price=st.floats(min_value=1e3, max_value=1e6),
)
def test_breakeven_decreases_with_cloud_price(c1, c2, price):
    spec = zhuang2025_a800(purchase_price=price)
    lo, hi = sorted((c1, c2))
    assert breakeven_utilization(spec, hi) <= breakeven_utilization(spec, lo)


def test_capex_vs_opex_by_hand():
    spec = zhuang2025_a800(n_gpus=2)
    c = capex_vs_opex(spec, CLOUD_LOW, horizon_years=6, utilization=0.5)
    capex = 2 * 120_000 / 7.09
    _, running = calendar_and_running_usd_per_hour(spec)
    opex_per_year = 8760 * 2 * 0.5 * running
    cloud_per_year = 8760 * 2 * 0.5 * CLOUD_LOW
    assert c.capex_usd == pytest.approx(capex)
    assert c.owning_opex_usd_per_year == pytest.approx(opex_per_year)
    assert c.cloud_usd_per_year == pytest.approx(cloud_per_year)
    assert c.crossover_years == pytest.approx(capex / (cloud_per_year - opex_per_year))
    assert round(c.crossover_years, 3) == 1.443
    assert c.time_years[0] == 0 and c.time_years[-1] == 6
    assert c.owning_cumulative_usd[0] == pytest.approx(capex)
    assert c.cloud_cumulative_usd[0] == 0
    # End of life at t = 3 is on the grid; the replacement counts just after it.
    assert 3.0 in c.time_years
    i = int(np.searchsorted(c.time_years, 3.0))
    assert c.owning_cumulative_usd[i] == pytest.approx(capex + 3 * opex_per_year)
    assert c.owning_cumulative_usd[i + 1] == pytest.approx(2 * capex + c.time_years[i + 1] * opex_per_year)
    assert c.savings_at_horizon_usd == pytest.approx(6 * cloud_per_year - 2 * capex - 6 * opex_per_year)
    assert np.all(np.diff(c.time_years) > 0)


def test_crossover_sits_at_end_of_life_at_the_breakeven_utilization():
    spec = zhuang2025_a800()
    u = breakeven_utilization(spec, CLOUD_LOW)
    assert capex_vs_opex(spec, CLOUD_LOW, 3, u * 1.01).crossover_years < 3
    assert capex_vs_opex(spec, CLOUD_LOW, 3, u * 0.99).crossover_years == math.inf
    assert capex_vs_opex(spec, CLOUD_LOW, 3, u * 0.99, replace_at_end_of_life=False).crossover_years > 3


def test_capex_vs_opex_defaults_to_the_specs_utilization():
    c = capex_vs_opex(zhuang2025_a800(utilization=0.25), 3.0, 2)
    assert c.utilization == 0.25


def test_curves_meet_at_the_crossover():
    c = capex_vs_opex(zhuang2025_a800(), CLOUD_HIGH, 3, 0.3)
    t = c.crossover_years
    assert float(c.owning_cumulative_usd_at(t)) == pytest.approx(float(c.cloud_cumulative_usd_at(t)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"horizon_years": 0}, "horizon_years"),
        ({"horizon_years": float("inf")}, "horizon_years"),
        ({"utilization": 0}, "utilization"),
        ({"utilization": 1.5}, "utilization"),
        ({"cloud_usd_per_hour": -1}, "cloud_usd_per_hour"),
        ({"n_points": 1}, "n_points"),
    ],
)
def test_capex_vs_opex_bad_input(kwargs, name):
    args = {"ownership_spec": zhuang2025_a800(), "cloud_usd_per_hour": 3.0, "horizon_years": 3, **kwargs}
    with pytest.raises(SpecError, match=name):
        capex_vs_opex(**args)


def test_plots_return_axes():
    ax = plot_ownership(capex_vs_opex(zhuang2025_a800(n_gpus=2), CLOUD_LOW, 6, 0.5))
    assert ax.get_xlabel() == "Time (years)" and "USD" in ax.get_ylabel()
    assert len(ax.get_lines()) >= 3  # owning, cloud, crossover
    ax = plot_breakeven(zhuang2025_a800())
    assert "USD" in ax.get_ylabel() and "Utilization" in ax.get_xlabel()
    ax = plot_breakeven(
        OwnershipCost(
            purchase_price=30_000, depreciation_years=4, power_kw=0.7, electricity_price_per_kwh=0.1
        ),
        2.0,
    )
    assert ax.get_yscale() == "log"
    import matplotlib.pyplot as plt

    plt.close("all")


# ---- hostile inputs ("One pipeline", item 6) ---------------------------------------------------------------
@pytest.mark.parametrize("bad", [1e-320, 5e-324, True, None, [2.0]])
def test_subnormal_and_non_numeric_cloud_rates(bad):
    for fn in (
        lambda: breakeven_utilization(zhuang2025_a800(), bad),
        lambda: capex_vs_opex(zhuang2025_a800(), bad, 3.0),
    ):
        with pytest.raises(SpecError, match="cloud_usd_per_hour"):
            fn()


def test_breakeven_never_returns_an_overflowed_inf():
    spec = zhuang2025_a800()
    _, running = calendar_and_running_usd_per_hour(spec)
    # the cloud rate does not cover the running costs: inf is the documented answer ("never breaks even")
    assert breakeven_utilization(spec, running) == math.inf
    # a margin so small that F / (c − R) overflows is refused rather than returned as inf
    huge = OwnershipCost(
        purchase_price=1e308, depreciation_years=1, power_kw=0.0, electricity_price_per_kwh=0.0
    )
    with pytest.raises(SpecError, match="breakeven_utilization.*overflows"):
        breakeven_utilization(huge, 1e-6)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"utilization": 0}, "utilization"),
        ({"depreciation_years": 0}, "depreciation_years"),
        ({"depreciation_years": 1e-320}, "depreciation_years"),
    ],
)
def test_degenerate_ownership_raises_with_the_field(changes, field):
    with pytest.raises(SpecError, match=field):
        breakeven_utilization(zhuang2025_a800(**changes), 3.0)
