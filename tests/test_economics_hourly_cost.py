"""Hourly GPU cost (Zhuang et al. 2025 App. A; docs/papers.md §2.2, §2.3, §2.6): the A800 worked example to
the cent, the component formulas, currency conversion, extras, rentals, and bad input naming the field."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.economics.hourly_cost import (
    HOURS_PER_YEAR,
    HourlyCostBreakdown,
    OwnershipCost,
    RentalCost,
    cost_from_mapping,
    hourly_cost,
    load_cost,
    price_usd_per_hour,
    zhuang2025_a800,
)
from infereco.errors import SpecError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "a800_zhuang2025.yaml"


def test_a800_worked_example_to_the_cent():
    b = hourly_cost(zhuang2025_a800())
    assert round(b.depreciation_usd_per_hour, 3) == 0.644
    assert round(b.power_usd_per_hour, 3) == 0.085
    assert round(b.maintenance_usd_per_hour, 3) == 0.058
    assert round(b.per_gpu_usd_per_hour, 3) == 0.787
    assert round(b.per_gpu_usd_per_hour, 2) == 0.79


def test_a800_two_cards():
    b = hourly_cost(zhuang2025_a800(n_gpus=2))
    assert b.n_gpus == 2
    assert b.total_usd_per_hour == pytest.approx(2 * b.per_gpu_usd_per_hour)
    # Unrounded 1.5732 → $1.57; the paper's $1.58 doubles the per-GPU figure rounded to $0.79 first.
    assert round(b.total_usd_per_hour, 2) == 1.57
    assert round(2 * round(b.per_gpu_usd_per_hour, 2), 2) == 1.58


def test_component_formulas_by_hand():
    s = OwnershipCost(
        purchase_price=10_000,
        currency="EUR",
        usd_per_currency=1.1,
        depreciation_years=4,
        utilization=0.5,
        power_kw=0.7,
        pue=1.2,
        electricity_price_per_kwh=0.2,
        maintenance_rate_per_year=0.05,
        cost_of_capital_rate_per_year=0.08,
        host_and_network_share_per_hour=0.1,
    )
    b = hourly_cost(s)
    assert b.depreciation_usd_per_hour == pytest.approx(10_000 / (4 * 8760 * 0.5) * 1.1)
    assert b.power_usd_per_hour == pytest.approx(0.7 * 1.2 * 0.2 * 1.1)
    assert b.maintenance_usd_per_hour == pytest.approx(10_000 * 0.05 / 8760 * 1.1)
    assert b.cost_of_capital_usd_per_hour == pytest.approx(10_000 * 0.08 / (8760 * 0.5) * 1.1)
    assert b.host_and_network_usd_per_hour == pytest.approx(0.1 / 0.5 * 1.1)
    assert set(b.components()) == {
        "depreciation",
        "power",
        "maintenance",
        "cost_of_capital",
        "host_and_network",
    }


def test_utilization_divides_depreciation_only():
    full, part = hourly_cost(zhuang2025_a800()), hourly_cost(zhuang2025_a800(utilization=0.8))
    assert part.depreciation_usd_per_hour == pytest.approx(full.depreciation_usd_per_hour / 0.8)
    assert part.power_usd_per_hour == full.power_usd_per_hour
    assert part.maintenance_usd_per_hour == full.maintenance_usd_per_hour
    assert round(part.per_gpu_usd_per_hour, 2) == 0.95  # docs/papers.md §2.3: "u = 0.8 … ≈ $0.95/h"


def test_shares_and_records():
    b = hourly_cost(zhuang2025_a800(n_gpus=2))
    shares = b.shares()
    assert sum(shares.values()) == pytest.approx(1.0)
    assert round(shares["depreciation"], 2) == 0.82  # paper: ~82%
    recs = b.to_records()
    assert [r["component"] for r in recs] == ["depreciation", "power", "maintenance", "total"]
    assert recs[-1]["usd_per_hour_all_gpus"] == pytest.approx(b.total_usd_per_hour)
    text = str(b)
    assert "depreciation" in text and "0.6440" in text and "1.5732" in text


def test_either_exchange_rate_form():
    a = zhuang2025_a800()
    b = zhuang2025_a800(currency_per_usd=None, usd_per_currency=1 / 7.09)
    assert hourly_cost(a).per_gpu_usd_per_hour == pytest.approx(hourly_cost(b).per_gpu_usd_per_hour)
    usd = OwnershipCost(
        purchase_price=25_000, depreciation_years=5, power_kw=0.7, electricity_price_per_kwh=0.1
    )
    assert usd.usd_per_unit == 1.0
    assert hourly_cost(usd).depreciation_usd_per_hour == pytest.approx(25_000 / (5 * HOURS_PER_YEAR))


def test_currency_code_is_normalised():
    assert zhuang2025_a800(currency="cny").currency == "CNY"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"purchase_price": -1}, "purchase_price"),
        ({"purchase_price": 0}, "purchase_price"),
        ({"utilization": 0}, "utilization"),
        ({"utilization": 1.2}, "utilization"),
        ({"depreciation_years": 0}, "depreciation_years"),
        ({"pue": 0.9}, "pue"),
        ({"power_kw": -0.1}, "power_kw"),
        ({"electricity_price_per_kwh": float("nan")}, "electricity_price_per_kwh"),
        ({"maintenance_rate_per_year": 3}, "maintenance_rate_per_year"),
        ({"cost_of_capital_rate_per_year": 8}, "cost_of_capital_rate_per_year"),
        ({"currency_per_usd": None}, "currency_per_usd"),
        ({"currency_per_usd": 7.09, "usd_per_currency": 7.09}, "currency_per_usd"),
        ({"currency": "yuan"}, "currency"),
        ({"n_gpus": 0}, "n_gpus"),
        ({"purchase_prize": 1}, "purchase_prize"),
    ],
)
def test_bad_input_names_the_field(changes, field):
    with pytest.raises(SpecError, match=field):
        zhuang2025_a800(**changes)


def test_usd_with_a_non_unit_rate_is_rejected():
    with pytest.raises(SpecError, match="currency_per_usd"):
        OwnershipCost.validated(
            {
                "purchase_price": 1,
                "currency": "USD",
                "currency_per_usd": 7.09,
                "depreciation_years": 3,
                "power_kw": 0.4,
                "electricity_price_per_kwh": 1,
            }
        )


def test_rental_and_price_usd_per_hour():
    r = RentalCost(price_usd_per_hour=2.82, n_gpus=2)
    b = hourly_cost(r)
    assert b.components() == {"rent": 2.82}
    assert b.total_usd_per_hour == pytest.approx(5.64)
    assert b.utilization is None
    assert price_usd_per_hour(r) == 2.82
    assert price_usd_per_hour(zhuang2025_a800(n_gpus=2)) == pytest.approx(0.786624675567234)  # per GPU
    assert price_usd_per_hour(b) == 2.82
    assert price_usd_per_hour(3) == 3.0
    for bad in (0, -1.0, float("inf"), "2", True, None):
        with pytest.raises(SpecError):
            price_usd_per_hour(bad)
    with pytest.raises(SpecError, match="price_usd_per_hour"):
        RentalCost.validated({"price_usd_per_hour": -2})


def test_hourly_cost_rejects_other_types():
    with pytest.raises(SpecError):
        hourly_cost({"purchase_price": 1})  # type: ignore[arg-type]


def test_example_file_reproduces_the_paper():
    spec = load_cost(EXAMPLE)
    assert isinstance(spec, OwnershipCost)
    assert spec.n_gpus == 2
    assert "purchase_price" in spec.sources
    b = hourly_cost(spec)
    assert round(b.per_gpu_usd_per_hour, 3) == 0.787
    assert round(b.total_usd_per_hour, 2) == 1.57


def test_cost_from_mapping_kinds():
    assert isinstance(cost_from_mapping({"kind": "rental", "price_usd_per_hour": 2}), RentalCost)
    with pytest.raises(SpecError, match="kind"):
        cost_from_mapping({"kind": "lease"})
    with pytest.raises(SpecError, match="where.yaml"):
        cost_from_mapping({"purchase_price": -1}, where="where.yaml")


def test_breakdown_is_frozen():
    b = hourly_cost(zhuang2025_a800())
    assert isinstance(b, HourlyCostBreakdown)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.n_gpus = 3  # type: ignore[misc]


_pos = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(price=_pos, k=st.floats(min_value=0.01, max_value=100), u=st.floats(min_value=0.01, max_value=1.0))
def test_cost_is_linear_in_money(price, k, u):
    """Scaling every money input (price, electricity, host share) by k scales every component by k."""
    base = {
        "purchase_price": price,
        "currency": "USD",
        "depreciation_years": 3,
        "utilization": u,
        "power_kw": 0.4,
        "pue": 1.5,
        "electricity_price_per_kwh": 0.1,
        "maintenance_rate_per_year": 0.03,
        "host_and_network_share_per_hour": 0.05,
    }
    a = hourly_cost(OwnershipCost.validated(base))
    b = hourly_cost(
        OwnershipCost.validated(
            {
                **base,
                "purchase_price": price * k,
                "electricity_price_per_kwh": 0.1 * k,
                "host_and_network_share_per_hour": 0.05 * k,
            }
        )
    )
    assert b.per_gpu_usd_per_hour == pytest.approx(k * a.per_gpu_usd_per_hour, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    u1=st.floats(min_value=0.01, max_value=1.0),
    u2=st.floats(min_value=0.01, max_value=1.0),
    n=st.integers(min_value=1, max_value=64),
)
def test_cost_falls_with_utilization_and_total_scales_with_gpus(u1, u2, n):
    lo, hi = sorted((u1, u2))
    c_lo = hourly_cost(zhuang2025_a800(utilization=lo, n_gpus=n))
    c_hi = hourly_cost(zhuang2025_a800(utilization=hi, n_gpus=n))
    assert c_hi.per_gpu_usd_per_hour <= c_lo.per_gpu_usd_per_hour + 1e-12
    assert c_lo.total_usd_per_hour == pytest.approx(n * c_lo.per_gpu_usd_per_hour)
    assert math.isclose(sum(c_lo.shares().values()), 1.0, rel_tol=1e-12)


# The economics docstring examples run with every other module's in tests/test_doctests.py.


def test_sources_must_be_a_mapping():
    with pytest.raises(SpecError, match="sources"):
        cost_from_mapping({"kind": "rental", "price_usd_per_hour": 2, "sources": "somewhere"})
    spec = cost_from_mapping({"kind": "rental", "price_usd_per_hour": {"value": 2, "source": "a quote"}})
    assert spec.sources == {"price_usd_per_hour": "a quote"}


# ---- hostile inputs ("One pipeline", item 6) ---------------------------------------------------------------
def test_direct_construction_raises_the_library_error():
    import pydantic

    for make in (
        lambda: OwnershipCost(
            purchase_price=-1, depreciation_years=3, power_kw=0.4, electricity_price_per_kwh=0.1
        ),
        lambda: OwnershipCost(purchase_price=-1),
        lambda: RentalCost(price_usd_per_hour=-1.0),
        lambda: RentalCost(price_usd_per_hour=0.0),
        lambda: RentalCost(),
    ):
        with pytest.raises(SpecError) as info:
            make()
        assert not isinstance(info.value, pydantic.ValidationError)
        assert "\n" not in str(info.value)
    with pytest.raises(
        SpecError, match=r"OwnershipCost\.purchase_price = -1: Input should be greater than 0"
    ):
        OwnershipCost(purchase_price=-1, depreciation_years=3, power_kw=0.4, electricity_price_per_kwh=0.1)
    assert issubclass(SpecError, ValueError)  # callers catching ValueError keep working


@pytest.mark.parametrize("price", [1e-320, 5e-324, 1e-7, 0.0, -0.0])
def test_prices_below_the_floor_are_refused_wherever_they_enter(price):
    from infereco.specs.catalog import resolve_hardware
    from infereco.specs.hardware import MIN_PRICE_USD_PER_HOUR

    assert MIN_PRICE_USD_PER_HOUR == 1e-6
    for enter in (
        lambda: price_usd_per_hour(price),
        lambda: RentalCost(price_usd_per_hour=price),
        lambda: price_usd_per_hour({"kind": "rental", "price_usd_per_hour": price}),
        lambda: resolve_hardware({"base": "h100-sxm", "price_usd_per_hour": price}),
    ):
        with pytest.raises(SpecError, match="price_usd_per_hour") as info:
            enter()
        assert "\n" not in str(info.value)
    assert price_usd_per_hour(1e-6) == 1e-6  # the floor itself is a price


def test_a_decomposition_that_underflows_below_the_floor_is_refused():
    with pytest.raises(SpecError, match="at least 1e-06"):
        price_usd_per_hour(zhuang2025_a800(purchase_price=1e-300, power_kw=0.0))


@pytest.mark.parametrize(
    "changes, fields",
    [
        ({"depreciation_years": 1e-320}, ("depreciation", "depreciation_years=1e-320")),
        ({"utilization": 1e-320}, ("depreciation", "utilization=1e-320")),
        ({"purchase_price": 1e308, "depreciation_years": 1e-10}, ("depreciation", "purchase_price=1e+308")),
        (
            {"utilization": 1e-310, "host_and_network_share_per_hour": 1.0, "purchase_price": 1e-300},
            ("host_and_network_share_per_hour",),
        ),
        ({"power_kw": 1e200, "pue": 1e200, "electricity_price_per_kwh": 1e200}, ("power", "power_kw=1e+200")),
    ],
)
def test_hourly_cost_never_returns_inf(changes, fields):
    with pytest.raises(SpecError) as info:
        hourly_cost(zhuang2025_a800(**changes))
    for field in fields:
        assert field in str(info.value)
