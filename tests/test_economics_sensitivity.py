"""Elasticities of $/M tokens and tokens/s (issue 5, item 5): jax AD against central finite differences.

Reference: central differences in log space, d ln y / d ln x ≈ [ln y(x·e^h) − ln y(x·e^−h)] / 2h with h = 1e-5
(truncation ~h² ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11), each perturbed input set through the *spec* (HardwareSpec
or OwnershipCost replaced, then evaluated by `evaluate_point` on the numpy backend): an evaluation path
independent of the traced scale vector. Points are chosen away from kinks (max(memory, compute), protocol and
layout switches).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from infereco import evaluate_point, load_hardware, pareto_frontier
from infereco.economics.hourly_cost import (
    OwnershipCost,
    price_usd_per_hour,
    reprice_frontier,
    zhuang2025_a800,
)
from infereco.economics.ownership import calendar_and_running_usd_per_hour
from infereco.economics.sensitivity import HARDWARE_INPUTS, cost_elasticities, sensitivity_ranges
from infereco.errors import InfeasibleError, SpecError
from infereco.plot.economics import plot_tornado

H = 1e-5
RTOL = 1e-6


def _scaled(hw, name: str, f: float):
    """A copy of HardwareSpec `hw` with input `name` multiplied by f (price is passed separately)."""
    if name == "flop_per_s":
        return hw.replace(flop_per_s={k: v * f for k, v in hw.flop_per_s.items()})
    if name == "collective_latency_scale":
        protocols = [
            p.model_copy(
                update={
                    "base_s": p.base_s * f,
                    "intra_hop_s": p.intra_hop_s * f,
                    "inter_hop_s": p.inter_hop_s * f,
                }
            )
            for p in hw.nccl_protocols
        ]
        return hw.replace(nccl_protocols=protocols, ring_hop_s=hw.ring_hop_s * f)
    if name == "price_usd_per_hour":
        return hw
    return hw.replace(**{name: getattr(hw, name) * f})


def _log_outputs(model, hw, price, **cfg):
    out = evaluate_point(model, hw, price_usd_per_hour=price, backend="numpy", **cfg)
    assert out["tokens_per_s_per_request"] > 0, out
    return np.log([out["usd_per_million_tokens"], out["tokens_per_s_per_request"]])


def _fd(model, hw, name, **cfg):
    price = hw.price_usd_per_hour
    up = _log_outputs(
        model,
        _scaled(hw, name, math.exp(H)),
        price * (math.exp(H) if name == "price_usd_per_hour" else 1),
        **cfg,
    )
    dn = _log_outputs(
        model,
        _scaled(hw, name, math.exp(-H)),
        price * (math.exp(-H) if name == "price_usd_per_hour" else 1),
        **cfg,
    )
    return (up - dn) / (2 * H)


def _check_all(model, hw, **cfg):
    e = cost_elasticities(model, hw, **cfg)
    for name in HARDWARE_INPUTS:
        fd = _fd(model, hw, name, **cfg)
        got = np.array([e.usd_per_million_tokens[name], e.tokens_per_s_per_request[name]])
        np.testing.assert_allclose(got, fd, rtol=RTOL, atol=1e-12, err_msg=name)
    return e


# Utilizations below 1 so that both directions of the finite difference are valid specs.
H100 = load_hardware("h100-sxm").replace(bandwidth_utilization=0.8, flop_utilization=0.7)


def test_memory_bound_explicit_layout_matches_finite_differences():
    # Llama 3 70B, TP 8, batch 64, 1k context: memory-bound with collectives and launches (all terms
    # non-zero).
    e = _check_all("llama-3-70b", H100, tp=8, batch_size=64, context_length=1000)
    assert e.bound == "memory"
    assert e.usd_per_million_tokens["hbm_bandwidth_bytes_per_s"] < -0.3
    assert e.usd_per_million_tokens["collective_latency_scale"] > 0.05
    assert e.usd_per_million_tokens["flop_per_s"] == 0.0  # the max() picks memory


def test_compute_bound_point_matches_finite_differences():
    # Llama 3 8B on one GPU, batch 1024, 100-token context: 2·8e9·1024 FLOP / 0.7 PFLOP/s > bytes / 2.7 TB/s.
    e = _check_all("llama-3-8b", H100, tp=1, batch_size=1024, context_length=100)
    assert e.bound == "compute"
    assert e.usd_per_million_tokens["flop_per_s"] < -0.5
    assert e.usd_per_million_tokens["flop_utilization"] == pytest.approx(
        e.usd_per_million_tokens["flop_per_s"], rel=1e-12
    )


def test_best_layout_at_a_gpu_count_matches_finite_differences():
    # The continuous model: fastest candidate layout at 8 GPUs; the gradient follows the active layout.
    _check_all("llama-3-70b", H100, n_gpu=8, batch_size=64, context_length=1000)


def test_ring_collectives_latency_scale():
    # TPU v4 uses the ring model: the latency scale multiplies ring_hop_s.
    tpu = load_hardware("tpu-v4").replace(bandwidth_utilization=0.8, flop_utilization=0.7)
    e = _check_all("llama-3-8b", tpu, tp=4, batch_size=8, context_length=500)
    assert e.usd_per_million_tokens["collective_latency_scale"] > 0


def test_speculative_decoding_matches_finite_differences():
    spec = {"draft": "llama-3-8b", "acceptance": 0.8, "max_draft_tokens": 6}
    hw = load_hardware("h100-sxm").replace(bandwidth_utilization=0.9)
    e = cost_elasticities("llama-3-70b", hw, tp=8, batch_size=16, context_length=1000, speculative=spec)
    for name in (
        "hbm_bandwidth_bytes_per_s",
        "kernel_launch_s",
        "collective_latency_scale",
        "bandwidth_utilization",
    ):
        fd = _fd("llama-3-70b", hw, name, tp=8, batch_size=16, context_length=1000, speculative=spec)
        np.testing.assert_allclose([e[name], e.tokens_per_s_per_request[name]], fd, rtol=RTOL, atol=1e-12)


def test_price_elasticity_is_one_and_hardware_elasticities_mirror():
    e = cost_elasticities("llama-3-8b", "h100-sxm", tp=1, batch_size=32, context_length=2000)
    assert e["price_usd_per_hour"] == pytest.approx(1.0, abs=1e-14)
    assert e.tokens_per_s_per_request["price_usd_per_hour"] == 0.0
    # At fixed GPUs and batch, $/M ∝ latency ∝ 1/speed: hardware elasticities are opposite.
    for name in HARDWARE_INPUTS[1:]:
        assert e[name] == pytest.approx(-e.tokens_per_s_per_request[name], abs=1e-14)
    # Peak and utilization enter as a product.
    assert e["bandwidth_utilization"] == pytest.approx(e["hbm_bandwidth_bytes_per_s"], rel=1e-12)


def test_nominal_values_equal_evaluate_point():
    out = evaluate_point("llama-3-70b", "h100-sxm", tp=8, batch_size=64, context_length=1000)
    e = cost_elasticities("llama-3-70b", "h100-sxm", tp=8, batch_size=64, context_length=1000)
    assert e.nominal_usd_per_million_tokens == pytest.approx(out["usd_per_million_tokens"], rel=1e-12)
    assert e.nominal_tokens_per_s_per_request == pytest.approx(out["tokens_per_s_per_request"], rel=1e-12)
    assert e.bound == out["bound"]


# The ownership decomposition: u = 0.8 (so u can move both ways) and every optional line non-zero.
OWN = zhuang2025_a800(
    utilization=0.8, cost_of_capital_rate_per_year=0.05, host_and_network_share_per_hour=0.5
)
OWN_FIELDS = (
    "utilization",
    "purchase_price",
    "depreciation_years",
    "power_kw",
    "pue",
    "electricity_price_per_kwh",
    "maintenance_rate_per_year",
    "cost_of_capital_rate_per_year",
    "host_and_network_share_per_hour",
    "currency_per_usd",
)


def _fd_price(spec: OwnershipCost, name: str) -> float:
    # $/M tokens is linear in the hourly price, so d ln($/M)/d ln x = d ln(price)/d ln x (hourly_cost, by
    # hand).
    lo = price_usd_per_hour(spec.replace(**{name: getattr(spec, name) * math.exp(-H)}))
    hi = price_usd_per_hour(spec.replace(**{name: getattr(spec, name) * math.exp(H)}))
    return (math.log(hi) - math.log(lo)) / (2 * H)


def test_ownership_inputs_match_finite_differences():
    e = cost_elasticities(
        "llama-3-8b", "a800-80g", tp=1, batch_size=32, context_length=1000, price_usd_per_hour=OWN
    )
    assert set(OWN_FIELDS) <= set(e.inputs)
    assert e.inputs["utilization"] == 0.8 and e.inputs["price_usd_per_hour"] == pytest.approx(
        price_usd_per_hour(OWN)
    )
    for name in OWN_FIELDS:
        assert e[name] == pytest.approx(_fd_price(OWN, name), rel=RTOL, abs=1e-12), name
        assert e.tokens_per_s_per_request[name] == 0.0
    assert e["price_usd_per_hour"] == pytest.approx(1.0, abs=1e-14)


def test_utilization_elasticity_hand_calculation():
    # Price = F/u + R (ownership.py): d ln price / d ln u = −(F/u) / (F/u + R).
    spec = zhuang2025_a800(utilization=0.6)
    f_cal, r_run = calendar_and_running_usd_per_hour(spec)
    e = cost_elasticities("llama-3-8b", "a800-80g", tp=1, batch_size=32, price_usd_per_hour=spec)
    assert e["utilization"] == pytest.approx(-(f_cal / 0.6) / (f_cal / 0.6 + r_run), rel=1e-12)
    # Paper baseline u = 1: depreciation is 0.644 / 0.787 = 82% of the hourly cost (docs/papers.md §2.3).
    e1 = cost_elasticities(
        "llama-3-8b", "a800-80g", tp=1, batch_size=32, price_usd_per_hour=zhuang2025_a800()
    )
    assert round(-e1["utilization"], 2) == 0.82


def test_usd_cost_has_no_exchange_rate_input():
    usd = OwnershipCost(
        purchase_price=25_000, depreciation_years=4, power_kw=0.7, electricity_price_per_kwh=0.1
    )
    e = cost_elasticities("llama-3-8b", "h100-sxm", tp=1, batch_size=8, price_usd_per_hour=usd)
    assert "currency_per_usd" not in e.inputs and "utilization" in e.inputs


def test_frontier_point_input():
    # A discrete frontier point carries its layout; the elasticities use it and reproduce its cost.
    f = pareto_frontier("llama-3-8b", "h100-sxm", context_length=1000)
    p = f.preferred()
    e = cost_elasticities("llama-3-8b", "h100-sxm", point=p, context_length=1000)
    assert e.nominal_usd_per_million_tokens == pytest.approx(p.usd_per_million_tokens, rel=1e-9)
    assert e.config["batch_size"] == p.batch_size and e.config["n_gpu"] == p.n_gpu
    # A repriced frontier has the same points; pass the same price to the elasticities.
    g = reprice_frontier(f, zhuang2025_a800())
    e2 = cost_elasticities(
        "llama-3-8b",
        "h100-sxm",
        point=g.preferred(),
        context_length=1000,
        price_usd_per_hour=zhuang2025_a800(),
    )
    assert e2.nominal_usd_per_million_tokens == pytest.approx(g.preferred().usd_per_million_tokens, rel=1e-9)


def test_infinite_input_has_zero_elasticity():
    # Scale-up bandwidth of a single-chip node (TPU v4 in the catalog: infinite) cannot move the cost.
    tpu = load_hardware("tpu-v4")
    e = cost_elasticities("llama-3-8b", tpu, tp=4, batch_size=8, context_length=500)
    if math.isinf(tpu.intra_node_bandwidth_bytes_per_s):
        assert e["intra_node_bandwidth_bytes_per_s"] == 0.0
    assert all(math.isfinite(v) for v in e.usd_per_million_tokens.values())


def test_errors():
    with pytest.raises(SpecError, match="exactly one of n_gpu"):
        cost_elasticities("llama-3-8b", "h100-sxm", n_gpu=1, tp=1, batch_size=1)
    with pytest.raises(SpecError, match="batch_size"):
        cost_elasticities("llama-3-8b", "h100-sxm", tp=1)
    with pytest.raises(SpecError, match="batch_size"):
        cost_elasticities("llama-3-8b", "h100-sxm", tp=1, batch_size=-4)
    with pytest.raises(InfeasibleError, match="does not fit"):
        cost_elasticities("llama-3-70b", "h100-sxm", tp=1, batch_size=1)
    with pytest.raises(InfeasibleError, match="not a valid layout"):
        cost_elasticities("llama-3-8b", "h100-sxm", tp=3, batch_size=1)
    with pytest.raises(SpecError, match="price_usd_per_hour"):
        cost_elasticities("llama-3-8b", "h100-sxm", tp=1, batch_size=1, price_usd_per_hour="cheap")


def test_sensitivity_ranges_are_exact_and_clipped():
    r = sensitivity_ranges(
        "llama-3-8b",
        "h100-sxm",
        tp=1,
        batch_size=32,
        context_length=1000,
        factors={"price_usd_per_hour": (0.5, 2.0)},
    )
    c0 = r.nominal_usd_per_million_tokens
    assert r.usd_per_million_tokens["price_usd_per_hour"] == pytest.approx((0.5 * c0, 2.0 * c0), rel=1e-12)
    # Utilization 1.0 × 1.25 is clipped to 1: the high end equals the nominal.
    assert r.high_inputs["bandwidth_utilization"] == 1.0
    assert r.usd_per_million_tokens["bandwidth_utilization"][1] == pytest.approx(c0, rel=1e-12)
    with pytest.raises(SpecError, match="unknown input"):
        sensitivity_ranges("llama-3-8b", "h100-sxm", tp=1, batch_size=32, inputs=["utilization"])


def test_tornado_plots():
    e = cost_elasticities(
        "llama-3-8b",
        "a800-80g",
        tp=1,
        batch_size=32,
        context_length=1000,
        price_usd_per_hour=zhuang2025_a800(),
    )
    ax = plot_tornado(e, top=6)
    assert len(ax.get_yticklabels()) == 6
    assert ax.get_yticklabels()[-1].get_text() == "GPU price (USD/GPU-h)"  # |1|, tied with the exchange rate
    assert "d ln" in ax.get_xlabel()
    r = sensitivity_ranges("llama-3-8b", "a800-80g", tp=1, batch_size=32, context_length=1000)
    ax = plot_tornado(r, metric="tokens_per_s_per_request")
    assert ax.get_xlabel() == "Tokens/s per request"
    ax = plot_tornado({"a": (1.0, 3.0), "b": (1.5, 2.5)}, baseline=2.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    with pytest.raises(SpecError, match="baseline"):
        plot_tornado({"a": (1.0, 3.0)})
    with pytest.raises(SpecError, match="metric"):
        plot_tornado(e, metric="speed")


# --------------------------------------------------------------------------------- price from a decomposition
def test_price_usd_per_hour_accepts_numbers_mappings_and_paths(tmp_path):
    import jax.numpy as jnp

    assert price_usd_per_hour(np.float32(0.5)) == 0.5
    assert price_usd_per_hour(np.int64(2)) == 2.0
    assert price_usd_per_hour(np.array(1.25)) == 1.25
    assert price_usd_per_hour(jnp.float64(1.5)) == 1.5
    assert price_usd_per_hour({"kind": "rental", "price_usd_per_hour": 2.82}) == 2.82
    own = zhuang2025_a800()
    assert price_usd_per_hour(own.model_dump()) == pytest.approx(price_usd_per_hour(own), rel=1e-15)
    path = tmp_path / "cost.yaml"
    path.write_text("kind: rental\nprice_usd_per_hour: 3.5\n", encoding="utf-8")
    assert price_usd_per_hour(path) == 3.5
    for bad in ("0.79", np.bool_(True), np.array([1.0, 2.0]), np.float64("nan"), object()):
        with pytest.raises(SpecError, match="price_usd_per_hour"):
            price_usd_per_hour(bad)


def test_reprice_frontier_equals_a_frontier_computed_at_that_price():
    own = zhuang2025_a800()
    f = pareto_frontier("llama-3-8b", "a800-80g", context_length=1000)
    g = reprice_frontier(f, own)
    h = pareto_frontier(
        "llama-3-8b", "a800-80g", context_length=1000, price_usd_per_hour=price_usd_per_hour(own)
    )
    np.testing.assert_allclose(
        g.columns["usd_per_million_tokens"], h.columns["usd_per_million_tokens"], rtol=1e-12
    )
    np.testing.assert_array_equal(
        g.columns["tokens_per_s_per_request"], h.columns["tokens_per_s_per_request"]
    )
    assert g.preferred().n_gpu == h.preferred().n_gpu and g.preferred().batch_size == h.preferred().batch_size
    assert g.meta["price_usd_per_hour"] == pytest.approx(0.7866, abs=1e-4)
    assert g.meta["hourly_cost"]["components_usd_per_gpu_hour"]["depreciation"] == pytest.approx(
        0.644, abs=5e-4
    )
    with pytest.raises(SpecError, match="Frontier"):
        reprice_frontier(f.to_records(), own)


# pareto_frontier and evaluate_point take their price from a cost decomposition as well as from a flat $/h.
def test_pareto_frontier_takes_its_price_from_a_cost_decomposition():
    own = zhuang2025_a800()  # $0.787 per GPU-hour (Zhuang et al. 2025 App. A)
    f = pareto_frontier("llama-3-8b", "a800-80g", context_length=1000, price_usd_per_hour=own)
    h = pareto_frontier(
        "llama-3-8b", "a800-80g", context_length=1000, price_usd_per_hour=price_usd_per_hour(own)
    )
    np.testing.assert_allclose(
        f.columns["usd_per_million_tokens"], h.columns["usd_per_million_tokens"], rtol=1e-12
    )
    assert f.meta["price_usd_per_hour"] == pytest.approx(0.786624675567234, rel=1e-12)
    rental = {"kind": "rental", "price_usd_per_hour": 2.82}
    p = evaluate_point("llama-3-8b", "a800-80g", tp=1, batch_size=8, price_usd_per_hour=rental)
    q = evaluate_point("llama-3-8b", "a800-80g", tp=1, batch_size=8, price_usd_per_hour=2.82)
    assert p["usd_per_million_tokens"] == pytest.approx(q["usd_per_million_tokens"], rel=1e-12)


def test_cost_mapping_price_adds_ownership_inputs():
    e = cost_elasticities(
        "llama-3-8b", "a800-80g", tp=1, batch_size=32, price_usd_per_hour=zhuang2025_a800().model_dump()
    )
    assert "utilization" in e.inputs and e.inputs["price_usd_per_hour"] == pytest.approx(
        0.786624675567234, rel=1e-12
    )
