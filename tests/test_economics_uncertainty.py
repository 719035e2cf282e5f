"""Monte Carlo intervals on $/M tokens and tokens/s (issue 5, item 5): validation, determinism, and checks
against closed forms (a price-only distribution scales $/M exactly, so its percentiles are known)."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from infereco import evaluate_point, pareto_frontier
from infereco.economics.hourly_cost import price_usd_per_hour, zhuang2025_a800
from infereco.economics.uncertainty import Distribution, cost_uncertainty, parse_distribution
from infereco.errors import SpecError
from infereco.plot.economics import plot_cost_uncertainty

CFG = {"tp": 1, "batch_size": 32, "context_length": 1000}  # Llama 3 8B on one A800: memory-bound
MODEL, HW = "llama-3-8b", "a800-80g"


def test_price_only_lognormal_has_closed_form_percentiles():
    # $/M = k · price; price ~ lognormal(median m, sigma s) ⇒ $/M percentiles are k·m·exp(s·z_p) up to
    # sampling.
    r = cost_uncertainty(
        MODEL,
        HW,
        distributions={"price_usd_per_hour": ("lognormal", 0.79, 0.2)},
        n_samples=20_000,
        seed=1,
        **CFG,
    )
    k = r.nominal_usd_per_million_tokens / 0.79  # a800-80g's catalog price is $0.79/h
    z95 = 1.6448536269514722
    assert r.usd_per_million_tokens.median == pytest.approx(k * 0.79, rel=0.01)
    assert r.usd_per_million_tokens.high == pytest.approx(k * 0.79 * math.exp(0.2 * z95), rel=0.02)
    assert r.usd_per_million_tokens.low == pytest.approx(k * 0.79 * math.exp(-0.2 * z95), rel=0.02)
    # Speed does not depend on the price: every sample has the nominal speed.
    assert np.all(r.tokens_per_s_per_request_samples == r.nominal_tokens_per_s_per_request)
    # Each sample is exactly k · price.
    np.testing.assert_allclose(
        r.usd_per_million_tokens_samples, k * r.input_samples["price_usd_per_hour"], rtol=1e-12
    )


def test_samples_equal_pointwise_evaluation():
    # A few given samples of HBM bandwidth: each Monte Carlo output equals evaluate_point on that hardware.
    bw = np.array([1.6e12, 1.8e12, 2.039e12, 2.2e12])
    r = cost_uncertainty(MODEL, HW, distributions={"hbm_bandwidth_bytes_per_s": bw}, n_samples=None, **CFG)
    for i, b in enumerate(bw):
        out = evaluate_point(MODEL, {"base": HW, "hbm_bandwidth_bytes_per_s": b}, backend="numpy", **CFG)
        assert r.usd_per_million_tokens_samples[i] == pytest.approx(out["usd_per_million_tokens"], rel=1e-12)
        assert r.tokens_per_s_per_request_samples[i] == pytest.approx(
            out["tokens_per_s_per_request"], rel=1e-12
        )
    assert r.n_samples == 4 and r.n_invalid == 0


def test_deterministic_with_a_seed_and_independent_streams():
    d = {"bandwidth_utilization": ("uniform", 0.6, 0.9), "kernel_launch_s": ("lognormal", 4e-6, 0.3)}
    a = cost_uncertainty(MODEL, HW, distributions=d, n_samples=500, seed=7, **CFG)
    b = cost_uncertainty(
        MODEL, HW, distributions=dict(reversed(list(d.items()))), n_samples=500, seed=7, **CFG
    )
    c = cost_uncertainty(MODEL, HW, distributions=d, n_samples=500, seed=8, **CFG)
    np.testing.assert_array_equal(a.usd_per_million_tokens_samples, b.usd_per_million_tokens_samples)
    assert not np.array_equal(a.usd_per_million_tokens_samples, c.usd_per_million_tokens_samples)
    # Adding a distribution for another input leaves this input's draws unchanged.
    more = cost_uncertainty(
        MODEL,
        HW,
        distributions={**d, "flop_utilization": ("uniform", 0.5, 0.8)},
        n_samples=500,
        seed=7,
        **CFG,
    )
    np.testing.assert_array_equal(
        more.input_samples["bandwidth_utilization"], a.input_samples["bandwidth_utilization"]
    )
    lo, hi = a.input_samples["bandwidth_utilization"].min(), a.input_samples["bandwidth_utilization"].max()
    assert 0.6 <= lo and hi <= 0.9
    # Lower bandwidth utilization is slower and dearer than nominal (utilization 1).
    assert a.usd_per_million_tokens.low > a.nominal_usd_per_million_tokens
    assert a.tokens_per_s_per_request.high < a.nominal_tokens_per_s_per_request


def test_ownership_inputs_and_modes():
    own = zhuang2025_a800()
    r = cost_uncertainty(
        MODEL,
        HW,
        distributions={"utilization": ("uniform", 0.4, 1.0)},
        n_samples=2000,
        seed=0,
        mode="preferred",
        context_length=1000,
        price_usd_per_hour=own,
    )
    f = pareto_frontier(MODEL, HW, context_length=1000, price_usd_per_hour=price_usd_per_hour(own))
    assert r.nominal_usd_per_million_tokens == pytest.approx(f.preferred().usd_per_million_tokens, rel=1e-9)
    # Utilization only raises the depreciation share: cost goes up, speed stays.
    assert r.usd_per_million_tokens.low >= r.nominal_usd_per_million_tokens * (1 - 1e-12)
    assert r.tokens_per_s_per_request.std == pytest.approx(0.0, abs=1e-9)
    # At u = 0.4 the hourly price is 0.644/0.4 + 0.143 = 1.753, 2.23× the u = 1 price (hand calculation).
    worst = r.usd_per_million_tokens_samples.max() / r.nominal_usd_per_million_tokens
    assert worst == pytest.approx((0.644 / 0.4 + 0.1426) / 0.7866, rel=0.01)
    m = cost_uncertainty(
        MODEL,
        HW,
        distributions={"pue": ("uniform", 1.2, 1.8)},
        n_samples=100,
        mode="frontier-min-cost",
        context_length=1000,
        price_usd_per_hour=own,
    )
    assert m.nominal_usd_per_million_tokens == pytest.approx(f.min_cost().usd_per_million_tokens, rel=1e-9)
    assert m.config["mode"] == "frontier-min-cost"


def test_invalid_samples_are_dropped_with_a_warning():
    with pytest.warns(UserWarning, match="outside the domain of bandwidth_utilization"):
        r = cost_uncertainty(
            MODEL,
            HW,
            distributions={"bandwidth_utilization": ("normal", 0.9, 0.1)},
            n_samples=1000,
            seed=3,
            **CFG,
        )
    assert 0 < r.n_invalid < 500
    assert np.isnan(r.usd_per_million_tokens_samples).sum() == r.n_invalid
    assert np.isfinite(r.usd_per_million_tokens.high)


@pytest.mark.parametrize(
    ("dists", "match"),
    [
        (
            {"hbm_bandwidth": ("lognormal", 2e12, 0.1)},
            "unknown input 'hbm_bandwidth'.*known inputs: price_usd_per_hour",
        ),
        ({"utilization": ("uniform", 0.5, 1.0)}, "ownership inputs need price_usd_per_hour=OwnershipCost"),
        ({"price_usd_per_hour": ("lognormal", 0.79, -0.1)}, "sigma = -0.1 is negative"),
        ({"price_usd_per_hour": ("normal", 0.79, -0.1)}, "sd = -0.1 is negative"),
        ({"price_usd_per_hour": ("uniform", 2.0, 1.0)}, "below low"),
        ({"price_usd_per_hour": ("lognormal", 0.0, 0.1)}, "median must be > 0"),
        (
            {"price_usd_per_hour": ("beta", 1.0, 1.0)},
            "unknown distribution 'beta'; known: lognormal, uniform, normal",
        ),
        ({"price_usd_per_hour": ("lognormal", 1.0)}, "two numbers"),
        ({"price_usd_per_hour": 0.79}, "expected \\('lognormal'"),
        ({"price_usd_per_hour": np.ones((2, 2))}, "1-D"),
        ({"price_usd_per_hour": [1.0, float("nan")]}, "NaN"),
        ({"price_usd_per_hour": np.ones(3)}, "3 samples given but n_samples = 2000"),
        ({}, "non-empty mapping"),
    ],
)
def test_distribution_validation(dists, match):
    with pytest.raises(SpecError, match=match):
        cost_uncertainty(MODEL, HW, distributions=dists, **CFG)


def test_other_argument_validation():
    d = {"price_usd_per_hour": ("uniform", 0.5, 1.0)}
    with pytest.raises(SpecError, match="mode"):
        cost_uncertainty(MODEL, HW, distributions=d, mode="cheapest")
    with pytest.raises(SpecError, match="do not also give"):
        cost_uncertainty(MODEL, HW, distributions=d, mode="preferred", **CFG)
    with pytest.raises(SpecError, match="n_samples"):
        cost_uncertainty(MODEL, HW, distributions=d, n_samples=0, **CFG)
    with pytest.raises(SpecError, match="percentiles"):
        cost_uncertainty(MODEL, HW, distributions=d, percentiles=(5, 150), **CFG)
    with pytest.raises(SpecError, match="both set the price"):
        cost_uncertainty(
            MODEL,
            HW,
            distributions={**d, "utilization": ("uniform", 0.5, 1.0)},
            price_usd_per_hour=zhuang2025_a800(),
            **CFG,
        )
    assert parse_distribution("pue", ("Uniform", 1.2, 1.6)) == Distribution("uniform", (1.2, 1.6))


def test_summary_and_plot():
    r = cost_uncertainty(
        MODEL,
        HW,
        distributions={"bandwidth_utilization": ("uniform", 0.6, 0.9)},
        n_samples=300,
        percentiles=(10, 50, 90),
        **CFG,
    )
    d = r.to_dict()
    assert set(d["usd_per_million_tokens"]) == {"mean", "std", "p10", "p50", "p90"}
    assert r.usd_per_million_tokens.low == d["usd_per_million_tokens"]["p10"]
    assert r.bound_counts == {"memory": 300}
    assert "p90" in str(r)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_cost_uncertainty(r)
    assert ax.get_ylabel() == "Cost per million output tokens (USD)"
    assert ax.get_xlabel() == "Tokens/s per request"
